import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WIDGET_LOADER_PATH } from '@atelier/protocol';
import { EXTENSION_DIR, blockSchema, extensionFiles, type BlockSchema } from './extension-files.js';

/**
 * Shopify's limits for a theme app extension (shopify.dev, "Configure theme app
 * extensions › File and content size limits", and theme-check's defaults for the
 * asset checks). Shopify refuses a deploy past the hard ones.
 */
const LIMITS = {
  totalBytes: 10 * 1024 * 1024,
  allLiquidBytes: 100 * 1024,
  localeFileBytes: 15 * 1024,
  /** theme-check AssetSizeAppBlockJavaScript: compressed, per file. */
  javascriptCompressedBytes: 10_000,
  /** theme-check AssetSizeAppBlockCSS, per file. */
  stylesheetBytes: 100_000,
  blocks: 30,
};

const STOREFRONT_LANGUAGES = ['en.default', 'de', 'fr', 'es', 'ja'];
const files = extensionFiles();
const blockFiles = files.filter((file) => file.path.startsWith('blocks/')).map((file) => file.path.slice('blocks/'.length));
const read = (path: string) => readFile(join(EXTENSION_DIR, path), 'utf8');

describe("Shopify's theme check (@shopify/theme-check-node, theme app extension rules)", () => {
  let cacheDir: string;

  beforeAll(async () => {
    // theme-check asks GitHub for newer Liquid docs before it falls back to the copy its
    // npm package ships. Pointing it at a folder that does not exist makes it use that
    // copy at once (no network, the same docs on every machine), with its cache in a
    // folder of this test's own.
    cacheDir = await mkdtemp(join(tmpdir(), 'atelier-theme-check-'));
    process.env.XDG_CACHE_HOME = cacheDir;
    process.env.SHOPIFY_TLD_ROOT = join(cacheDir, 'no-remote-docs');
  });

  afterAll(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('finds nothing to report', async () => {
    const { themeCheckRun } = await import('@shopify/theme-check-node');
    const config = fileURLToPath(new URL('theme-check.yml', import.meta.url));
    const run = await themeCheckRun(EXTENSION_DIR, config, () => {});
    // It did read the blocks, the snippet and the locales (an empty run passes anything).
    expect(run.theme.map((file) => file.uri.slice(file.uri.indexOf('/atelier-studio/') + 16)).sort()).toEqual(
      expect.arrayContaining([
        'blocks/app-embed.liquid',
        'blocks/product-studio.liquid',
        'snippets/atelier-studio.liquid',
        'locales/en.default.json',
      ]),
    );
    const offenses = run.offenses.map(({ check, message, uri, start }) => `${check}: ${message} (${uri}:${start.line + 1})`);
    expect(offenses).toEqual([]);
  });
});

describe("the extension keeps Shopify's documented limits", () => {
  it('has only the folders Shopify uploads, at most 10 MB in all and 100 KB of Liquid', () => {
    for (const { path } of files) expect(path).toMatch(/^(shopify\.extension\.toml|(assets|blocks|snippets|locales)\/[\w.-]+)$/);
    expect(files.reduce((sum, file) => sum + file.bytes, 0)).toBeLessThanOrEqual(LIMITS.totalBytes);
    const liquid = files.filter((file) => file.path.endsWith('.liquid'));
    expect(liquid.length).toBeGreaterThanOrEqual(3);
    expect(liquid.reduce((sum, file) => sum + file.bytes, 0)).toBeLessThanOrEqual(LIMITS.allLiquidBytes);
    expect(blockFiles.length).toBeLessThanOrEqual(LIMITS.blocks);
  });

  it('keeps each locale file within 15 KB, JavaScript within 10 KB compressed and CSS within 100 KB', async () => {
    for (const file of files.filter((entry) => entry.path.startsWith('locales/'))) {
      expect(file.bytes, file.path).toBeLessThanOrEqual(LIMITS.localeFileBytes);
    }
    const scripts = files.filter((file) => file.path.endsWith('.js'));
    expect(scripts.map((file) => file.path)).toEqual(['assets/atelier-cart.js', 'assets/atelier-loader.js']);
    for (const file of scripts) {
      expect(gzipSync(await readFile(join(EXTENSION_DIR, file.path)), { level: 9 }).length, file.path).toBeLessThanOrEqual(
        LIMITS.javascriptCompressedBytes,
      );
    }
    for (const file of files.filter((entry) => entry.path.endsWith('.css'))) {
      expect(file.bytes, file.path).toBeLessThanOrEqual(LIMITS.stylesheetBytes);
    }
  });

  it('keeps what a page runs before the studio (the asset and the server’s loader it imports) within 10 KB compressed', async () => {
    const asset = await readFile(join(EXTENSION_DIR, 'assets/atelier-loader.js'));
    // The asset names the server's loader by the path the server serves it at.
    expect(asset.toString()).toContain(`'${WIDGET_LOADER_PATH.slice(1)}'`);
    const serverLoader = await readFile(fileURLToPath(new URL('../../widget/dist/bundle/loader.js', import.meta.url)));
    const gzip = (file: Buffer) => gzipSync(file, { level: 9 }).length;
    expect(gzip(asset) + gzip(serverLoader)).toBeLessThanOrEqual(LIMITS.javascriptCompressedBytes);
  });

  it('gives every block a valid schema: a name, a target, typed settings with unique ids, assets that exist', () => {
    const schemas = new Map<string, BlockSchema>(blockFiles.map((file) => [file, blockSchema(file)]));
    expect([...schemas.values()].map((schema) => schema.target).sort()).toEqual(['body', 'section']);
    for (const [file, schema] of schemas) {
      expect(schema.name, file).toMatch(/^t:blocks\.\w+\.name$/);
      expect(['section', 'body', 'head'], file).toContain(schema.target);
      const ids = (schema.settings ?? []).flatMap((setting) => (setting.id ? [setting.id] : []));
      expect(new Set(ids).size, `${file}: duplicate setting ids`).toBe(ids.length);
      for (const setting of schema.settings ?? []) {
        expect(setting.type, file).toMatch(/^(header|text|textarea|select|color|range|checkbox|number|url)$/);
        if (setting.type !== 'header') expect(setting.label, `${file} ${setting.id}`).toMatch(/^t:/);
        if (setting.type === 'select') expect(setting.options!.map((option) => option.value)).toContain(setting.default);
      }
      for (const asset of [schema.stylesheet, schema.javascript].filter(Boolean)) {
        expect(
          files.map((entry) => entry.path),
          file,
        ).toContain(`assets/${asset}`);
      }
    }
  });
});

describe('translations', () => {
  /** Every dotted key path of a locale file's leaves. */
  const keys = (tree: unknown, prefix = ''): string[] =>
    typeof tree === 'object' && tree !== null
      ? Object.entries(tree).flatMap(([key, value]) => keys(value, prefix ? `${prefix}.${key}` : key))
      : [prefix];
  const locale = async (name: string) => JSON.parse(await read(`locales/${name}.json`)) as unknown;

  it('has every `| t` key of the Liquid in every storefront locale, and no key the Liquid does not use', async () => {
    const liquid = await Promise.all(files.filter((file) => file.path.endsWith('.liquid')).map((file) => read(file.path)));
    const used = new Set(liquid.flatMap((source) => [...source.matchAll(/'([\w.]+)'\s*\|\s*t\b/g)].map((match) => match[1]!)));
    expect(used.size).toBeGreaterThanOrEqual(4);
    for (const language of STOREFRONT_LANGUAGES) {
      expect(new Set(keys(await locale(language))), language).toEqual(used);
    }
  });

  it('has every `t:` key of the schemas in every schema locale, and the same keys in each', async () => {
    const schemas = JSON.stringify(blockFiles.map((file) => blockSchema(file)));
    const used = new Set([...schemas.matchAll(/"t:([\w.]+)"/g)].map((match) => match[1]!));
    const english = new Set(keys(await locale('en.default.schema')));
    for (const key of used) expect(english, key).toContain(key);
    for (const language of STOREFRONT_LANGUAGES.slice(1)) {
      expect(new Set(keys(await locale(`${language}.schema`))), language).toEqual(english);
    }
  });
});

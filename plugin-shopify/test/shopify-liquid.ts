/**
 * Shopify's Liquid, as far as the theme app extension uses it, on `liquidjs`: the
 * standard tags and filters are liquidjs's own; the Shopify-only ones are written here
 * after Shopify's documentation, with the output formats it documents, so a rendered
 * block reads as a storefront would serve it. Test code: the extension itself is only
 * Liquid, and Shopify renders it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Liquid, Tag, TagToken, type Context, type Emitter, type TopLevelToken } from 'liquidjs';

/** An image as the `image_url` filter takes it: Shopify's `image` (or a media's preview). */
export interface ShopifyImage {
  /** The file's name under the shop's CDN folder, e.g. `lamp.jpg`. */
  filename: string;
  /** The file's version (Shopify's `?v=`, the upload time in seconds). */
  version: number;
  width: number;
  height: number;
  alt?: string;
}

export interface ShopifyLiquidOptions {
  /** The extension's folder (blocks/, snippets/, locales/). */
  extensionDir: string;
  /** The storefront's language (`request.locale.iso_code`): picks locales/<locale>.json. */
  locale: string;
  /** Host of the shop's CDN paths (`image_url`), e.g. `atelier-demo.myshopify.com`. */
  shopHost: string;
  /** Host serving the extension's assets (`asset_url`); Shopify's is `cdn.shopify.com`. */
  assetHost: string;
  /** The deployed extension's id and version, part of every asset URL. */
  extensionId?: string;
  extensionVersion?: string;
}

/** Shopify's `escape` (Ruby's CGI.escapeHTML): the five characters HTML gives meaning to. */
export function shopifyEscape(input: string | number | boolean | null | undefined): string {
  const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  return input == null ? '' : String(input).replace(/[&<>"']/g, (char) => entities[char]!);
}

/** Keyword arguments as liquidjs passes them to a filter: `[name, value]` pairs. */
function keywords(args: unknown[]): Map<string, unknown> {
  return new Map(args.filter((arg): arg is [string, unknown] => Array.isArray(arg) && arg.length === 2));
}

/**
 * A tag whose body is data for Shopify, never output: `{% schema %}` (the block's
 * settings JSON) and `{% doc %}` (LiquidDoc for a snippet's parameters).
 */
function silentBlock(name: string) {
  return class extends Tag {
    constructor(token: TagToken, remainTokens: TopLevelToken[], liquid: Liquid) {
      super(token, remainTokens, liquid);
      for (let next = remainTokens.shift(); next; next = remainTokens.shift()) {
        if (next instanceof TagToken && next.name === `end${name}`) return;
      }
      throw new Error(`{% ${name} %} is not closed`);
    }
    *render(_ctx: Context, _emitter: Emitter): Generator<unknown, void, unknown> {}
  };
}

function readLocale(extensionDir: string, name: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(join(extensionDir, 'locales', `${name}.json`), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function lookup(tree: Record<string, unknown> | undefined, key: string): string | undefined {
  let node: unknown = tree;
  for (const part of key.split('.'))
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
  return typeof node === 'string' ? node : undefined;
}

/** `//cdn.shopify.com/extensions/{id}/{version}/assets/`: where a deployed extension's assets are. */
export function assetBase(options: Pick<ShopifyLiquidOptions, 'assetHost' | 'extensionId' | 'extensionVersion'>): string {
  const id = options.extensionId ?? '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
  return `//${options.assetHost}/extensions/${id}/${options.extensionVersion ?? '1.0.0'}/assets/`;
}

export function shopifyLiquid(options: ShopifyLiquidOptions): Liquid {
  const { extensionDir, locale, shopHost } = options;
  const engine = new Liquid({
    root: [join(extensionDir, 'blocks')],
    partials: [join(extensionDir, 'snippets')],
    extname: '.liquid',
    // Shopify's Liquid escapes nothing by itself: every `| escape` the blocks need must be written.
    outputEscape: undefined,
    strictFilters: true,
  });
  engine.registerTag('schema', silentBlock('schema'));
  engine.registerTag('doc', silentBlock('doc'));

  const language = locale.split('-')[0]!;
  const translations = readLocale(extensionDir, locale) ?? readLocale(extensionDir, language);
  const defaults = readLocale(extensionDir, 'en.default');
  // `t`: the storefront locale's string, else the default locale's, else Shopify's own notice.
  engine.registerFilter(
    't',
    (key: string) => lookup(translations, key) ?? lookup(defaults, key) ?? `translation missing: ${locale}.${key}`,
  );
  engine.registerFilter('escape', shopifyEscape);

  // `//{shop}/cdn/shop/files/{file}?v={version}&width={w}&height={h}`, as Shopify documents
  // its output: protocol-relative, sized by the query, never larger than the original.
  engine.registerFilter('image_url', (image: ShopifyImage | null | undefined, ...args: unknown[]) => {
    if (!image?.filename) throw new Error('image_url: the input is not an image');
    const sizes = keywords(args);
    const query = new URLSearchParams({ v: String(image.version) });
    for (const name of ['width', 'height'] as const) {
      const value = sizes.get(name);
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 5760)
        throw new Error(`image_url: ${name} must be an integer from 1 to 5760`);
      query.set(name, String(value));
    }
    return `//${shopHost}/cdn/shop/files/${encodeURI(image.filename)}?${query.toString()}`;
  });

  const assets = assetBase(options);
  engine.registerFilter('asset_url', (file: string) => {
    if (!isAssetName(file)) throw new Error(`asset_url: not an asset file name: ${file}`);
    return assets + file;
  });
  return engine;
}

/** Asset names are plain file names in assets/ (no folders). */
function isAssetName(file: unknown): boolean {
  return typeof file === 'string' && /^[\w.-]+$/.test(file);
}

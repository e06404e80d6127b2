// Bundles tsc's output (run `tsc -p widget` first) into the single files a
// storefront loads: ESM for `<script type="module">` (the server serves it at
// /widget.js) and an IIFE for pages that can only add classic scripts.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import { STUDIO_PATH, studioFileName } from '@atelier/protocol';

const BUNDLE_DIR = 'dist/bundle';
/**
 * Minifies the CSS inside Lit's css`…` templates, which terser leaves as written:
 * comments go, whitespace collapses, the spaces CSS never needs (around braces and
 * semicolons, after colons and commas) and a block's last semicolon are dropped,
 * `0.5` becomes `.5` and `#ffffff` becomes `#fff`. Interpolations (`${…}`) are kept
 * as they are. Conservative on purpose: it never touches a space another character
 * could depend on (selectors' descendant combinators, `calc()` operators).
 */
function minifyCssTemplates() {
  const template = /\bcss\s*`([^`]*)`/g;
  const minify = (text) =>
    text
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\s+/g, ' ')
      .replace(/\s*([{};])\s*/g, '$1')
      .replace(/([:,])\s+/g, '$1')
      .replace(/;}/g, '}')
      .replace(/(^|[^\d.])0\.(\d)/g, '$1.$2')
      .replace(/#([\da-f])\1([\da-f])\2([\da-f])\3\b/gi, '#$1$2$3')
      .trim();
  return {
    name: 'minify-css-templates',
    transform(code, id) {
      if (!id.endsWith('.styles.js')) return null;
      return { code: code.replace(template, (_whole, body) => `css\`${minify(body)}\``), map: null };
    },
  };
}

/**
 * Copies the ESM studio bundle (built by the first configuration) to a name holding its
 * content hash, removes the copies of earlier builds, and writes that name into the
 * loader, which therefore changes whenever the studio does.
 */
function hashedStudio() {
  let file;
  return {
    name: 'hashed-studio',
    buildStart() {
      const studio = readFileSync(`${BUNDLE_DIR}/atelier-studio.js`);
      file = studioFileName(createHash('sha256').update(studio).digest('hex'));
      for (const old of readdirSync(BUNDLE_DIR).filter((name) => STUDIO_PATH.test(`/${name}`))) rmSync(`${BUNDLE_DIR}/${old}`);
      // The copy drops the source-map comment: the map is named after the unhashed file.
      writeFileSync(`${BUNDLE_DIR}/${file}`, studio.toString().replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
    },
    transform(code) {
      return code.includes('__ATELIER_STUDIO_FILE__')
        ? { code: code.replace('__ATELIER_STUDIO_FILE__', `./${file}`), map: null }
        : null;
    },
  };
}

const minify = () => terser({ ecma: 2020, compress: { passes: 2 }, format: { comments: false } });

/** @type {import('rollup').RollupOptions} */
const studio = {
  input: 'dist/index.js',
  output: [
    { file: 'dist/bundle/atelier-studio.js', format: 'es', sourcemap: true },
    // Rollup rewrites import.meta.url to the <script> element's src here, so the
    // default server still comes from where the file was loaded.
    { file: 'dist/bundle/atelier-studio.iife.js', format: 'iife', name: 'AtelierStudio', sourcemap: true },
  ],
  onwarn(warning, warn) {
    // tsc's __decorate helper reads top-level `this` and falls back when it is
    // undefined, as it is in ESM; the rewrite is expected.
    if (warning.code === 'THIS_IS_UNDEFINED') return;
    warn(warning);
  },
  // Resolves Lit's production build (no "development" condition).
  plugins: [minifyCssTemplates(), nodeResolve({ browser: true }), minify()],
};

/**
 * The loader (`loader.js`, served at /widget.js): what a page includes; it fetches the
 * hashed studio when the page needs it (src/loader.ts). Built after the studio, whose
 * name it embeds (rollup builds an array of configurations in order).
 */
/** @type {import('rollup').RollupOptions} */
const loader = {
  input: 'dist/loader.js',
  output: { file: `${BUNDLE_DIR}/loader.js`, format: 'es' },
  plugins: [hashedStudio(), minify()],
};

/**
 * The embed page's bridge (`embed.js`, served at /embed.js): the other half of iframe
 * mode, loaded by the page the server renders at /embed/studio beside the studio.
 */
/** @type {import('rollup').RollupOptions} */
const embed = {
  input: 'dist/embed.js',
  output: { file: `${BUNDLE_DIR}/embed.js`, format: 'es' },
  plugins: [nodeResolve({ browser: true }), minify()],
};

export default [studio, loader, embed];

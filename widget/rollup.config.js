// Bundles tsc's output (run `tsc -p widget` first) into the single files a
// storefront loads: ESM for `<script type="module">` (the server serves it at
// /widget.js) and an IIFE for pages that can only add classic scripts.
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';

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

/** @type {import('rollup').RollupOptions} */
export default {
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
  plugins: [
    minifyCssTemplates(),
    nodeResolve({ browser: true }),
    terser({ ecma: 2020, compress: { passes: 2 }, format: { comments: false } }),
  ],
};

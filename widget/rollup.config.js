// Bundles tsc's output (run `tsc -p widget` first) into the single files a
// storefront loads: ESM for `<script type="module">` (the server serves it at
// /widget.js) and an IIFE for pages that can only add classic scripts.
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';

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
  plugins: [nodeResolve({ browser: true }), terser({ ecma: 2020, compress: { passes: 2 }, format: { comments: false } })],
};

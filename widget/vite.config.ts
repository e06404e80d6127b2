// Dev page for the component, rendered from source with hot reload:
// `npm run dev -w @atelier/widget`, then open
// http://127.0.0.1:5173/?server=http://127.0.0.1:8787&key=pk_test_…
// (the key's tenant must allow the origin http://127.0.0.1:5173).
import { defineConfig } from 'vite';

export default defineConfig({
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 5173 },
  // `vite build` only checks that the page builds; the shipped bundle is rollup's.
  build: { outDir: 'dist/dev', emptyOutDir: true },
});

// Dev page for the component, rendered from source with hot reload:
// `npm run demo` in one terminal, `npm run dev -w @atelier/widget` in another, then open
// http://127.0.0.1:5173/ — every mode and theme against the demo's server and tenants
// (dev/demo-tenants-plugin.ts reads .data/demo.json and allows this page's origin).
// `?server=…&key=…` points it at another server instead (README, "Develop").
import { defineConfig } from 'vite';
import { demoTenants } from './dev/demo-tenants-plugin.js';

export default defineConfig({
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 5173 },
  plugins: [demoTenants()],
  // `vite build` only checks that the page builds; the shipped bundle is rollup's.
  build: { outDir: 'dist/dev', emptyOutDir: true },
});

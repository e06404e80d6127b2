// ESLint flat config: typescript-eslint's type-checked rules everywhere, Lit's rules
// for the widget. Formatting is Prettier's job (`npm run format`), not ESLint's.
import js from '@eslint/js';
import lit from 'eslint-plugin-lit';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'test-results/**', 'playwright-report/**', 'gpu-runner/models/**', '.data/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // The build configs leave tests out, so each file is typed by the first of these
      // that includes it: the package's build, then its tests' config.
      parserOptions: {
        project: [
          './*/tsconfig.json',
          './*/tsconfig.test.json',
          './widget/test/tsconfig.json',
          './demo/test/tsconfig.json',
          './plugin-shopify/test/tsconfig.json',
          './tsconfig.tools.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node },
    },
  },
  {
    rules: {
      // Destructuring a field away (`const { type: _type, ...rest } = message`) is how the
      // code drops one; the underscore says it is deliberate.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // `ws` delivers frames as Buffers (its default binaryType), whose toString is the text.
      '@typescript-eslint/no-base-to-string': [
        'error',
        { ignoredTypeNames: ['Error', 'RegExp', 'URL', 'URLSearchParams', 'Buffer', 'ArrayBuffer'] },
      ],
    },
  },
  {
    files: ['widget/src/**/*.ts', 'widget/dev/**/*.ts'],
    ...lit.configs['flat/recommended'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      // Lit calls event listeners bound in templates (`@click=${this.onClick}`) with the host as `this`.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.test.ts', '**/*.spec.ts'],
    rules: {
      // vitest's and Playwright's asymmetric matchers (`expect.any(String)`) are typed `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The Shopify theme app extension's assets run in shoppers' browsers.
    files: ['plugin-shopify/extensions/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
);

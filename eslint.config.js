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
        project: ['./*/tsconfig.json', './*/tsconfig.test.json', './widget/test/tsconfig.json', './demo/test/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node },
    },
  },
  {
    files: ['widget/src/**/*.ts', 'widget/dev/**/*.ts'],
    ...lit.configs['flat/recommended'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);

// Lint rules for correctness; layout belongs to Prettier (eslint-config-prettier turns every
// formatting rule off, so the two cannot disagree).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/', '**/dist/', 'data/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Fastify plugins and hooks are async by contract, whether or not they await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after'],
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // The demo's and the console's scripts: browser modules; the call pages use the SDK's global `OT`.
    files: ['packages/server/public/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: {
        OT: 'readonly',
        document: 'readonly',
        location: 'readonly',
        history: 'readonly',
        fetch: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        // The Inspector page signs its REST calls with WebCrypto and keeps credentials per tab.
        crypto: 'readonly',
        TextEncoder: 'readonly',
        btoa: 'readonly',
        sessionStorage: 'readonly',
        Option: 'readonly',
        confirm: 'readonly',
        setTimeout: 'readonly',
        Blob: 'readonly',
        navigator: 'readonly',
        HTMLAnchorElement: 'readonly',
        FormData: 'readonly',
      },
    },
  },
  prettier,
);

// ESLint flat config: typescript-eslint's recommended rules on every TypeScript and
// JavaScript file of the repository; formatting is prettier's (eslint-config-prettier
// turns off the stylistic rules that would fight it). Run with `npm run lint`.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.cache/**',
      'out/**',
      'coverage/**',
      'docs/api/**',
      'test-consumers/.work/**',
      '**/*.min.js',
      'src/kernels/sparse_wasm_bytes.ts',
      'src/kernels/gemm_wasm_bytes.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  // Published coefficient tables (erf, tanh, the float64 reference) keep the digits they were printed with.
  { files: ['src/activations/**', 'test/helpers/reference.ts'], rules: { 'no-loss-of-precision': 'off' } },
  // CommonJS fixtures and scripts load with require().
  { files: ['**/*.cjs', '**/*.cts'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  prettier,
);

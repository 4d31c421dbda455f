// ESLint flat config: typescript-eslint's recommended rules on every TypeScript and
// JavaScript file of the repository; formatting is prettier's (eslint-config-prettier
// turns off the stylistic rules that would fight it). Run with `npm run lint`.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import layering from './eslint-rules/layering.js';

/**
 * The floors of src/, lowest first: a file imports only its own
 * part and parts on lower floors, so nothing runs back up and no two parts of one floor
 * (the layer families, say) know each other. A new folder needs a place here.
 */
const FLOORS = [
  ['utils'],
  ['platform', 'tfjs_internals'],
  ['kernels', 'graph', 'datasets', 'io'],
  ['activations', 'backend', 'solvers', 'constraints', 'regularizers'],
  ['optimizers'],
  ['layers/neural_module', 'layers/urn', 'layers/optnet', 'cff'],
  ['layers/index.ts', 'analysis'],
  ['callbacks'],
  ['index.ts', 'internal.ts'],
  ['node.ts'],
];

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
  {
    files: ['src/**/*.ts'],
    plugins: { layering },
    rules: {
      'layering/floors': ['error', { root: 'src', floors: FLOORS }],
      'layering/no-cycle': ['error', { root: 'src' }],
    },
  },
  // Published coefficient tables (erf, tanh, the float64 reference) keep the digits they were printed with.
  { files: ['src/activations/**', 'test/helpers/reference.ts'], rules: { 'no-loss-of-precision': 'off' } },
  // CommonJS fixtures and scripts load with require().
  { files: ['**/*.cjs', '**/*.cts'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  // bench/ uses the package as a user would ('tfjs-neural-modules'), plus its one internal entry
  // ('tfjs-neural-modules/internal'); never the sources by path.
  {
    files: ['bench/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/src', '**/src/**'], message: "import 'tfjs-neural-modules' or 'tfjs-neural-modules/internal' (src/internal.ts)." }] },
      ],
    },
  },
  prettier,
);

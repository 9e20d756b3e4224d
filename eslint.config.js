// ESLint (flat config) with typescript-eslint, run by `npm test` (`npm run lint`). Every rule here holds
// on the whole tree; a rule that needs exceptions says why where it is turned off.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  // bep/ holds the BEP's vector generator, outside tsconfig.json's project (it runs on its own).
  { ignores: ['bep/**', 'dist/**', 'build/**', 'node_modules/**', 'bench/results/**', 'test/fixtures/**', '.tap/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      // Never hang, never crash: a promise nobody awaits or catches is an unhandled rejection waiting.
      // tap's t.test() returns a promise tap itself waits for and reports: the one known-safe one.
      '@typescript-eslint/no-floating-promises': ['error', {
        ignoreVoid: true,
        allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }]
      }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      // An unused parameter or binding is named _x: an event's signature, a rest sibling left out on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // A variable a callback reads before its one assignment (the listener's own handle) stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }]
    }
  },
  {
    // Plain-JS scripts run by Node.
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } }
  },
  {
    // Declarations for untyped libraries mirror their API, which hands out untyped values.
    files: ['types/**/*.d.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' }
  }
)

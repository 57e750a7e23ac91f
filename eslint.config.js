// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { fileURLToPath } from 'node:url';
import { tollgatePlugin } from './scripts/eslint/layers.js';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Modules that perform I/O or reach the outside world; the pure policy library must not import them. */
const ioModules = [
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'http',
  'node:http',
  'https',
  'node:https',
  'http2',
  'node:http2',
  'net',
  'node:net',
  'tls',
  'node:tls',
  'dgram',
  'node:dgram',
  'child_process',
  'node:child_process',
  'worker_threads',
  'node:worker_threads',
  'dns',
  'node:dns',
  'process',
  'node:process',
  'express',
  '@kubernetes/client-node',
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'ci-action/dist/**',
      'dist/**',
      'coverage/**',
      'charts/**',
      '**/*.generated.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        Buffer: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Libraries some bundles need load on first use through policies/engine/on-demand.ts, whose
      // callers name them in a require() the build can bundle (so does the generated bundle
      // validator, which the embedded default bundle never needs); every other module imports.
      '@typescript-eslint/no-require-imports': [
        'error',
        {
          allow: [
            '^re2js$',
            '^jsonpath-plus$',
            '^cron-parser$',
            '^semver$',
            '^\\./schema-compiler\\.ts$',
            '^\\./bundle-validator\\.generated\\.js$',
          ],
        },
      ],
    },
  },
  {
    // Dependencies point one way (see ARCHITECTURE.md). Tests beside the code may reach test/support.
    files: [
      'policies/**/*.ts',
      'io/**/*.ts',
      'webhook/**/*.ts',
      'ci-action/src/**/*.ts',
      'audit/**/*.ts',
      'evidence/**/*.ts',
      'cli/**/*.ts',
      'bin/**/*.js',
    ],
    ignores: ['**/*.test.ts'],
    plugins: { tollgate: tollgatePlugin },
    rules: { 'tollgate/layers': ['error', { root }] },
  },
  {
    files: ['policies/**/*.ts'],
    ignores: ['policies/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({
            name,
            message: 'policies/ is pure: I/O reaches a policy only through the injected context.',
          })),
          patterns: [{ group: ['@actions/*'], message: 'policies/ is pure: no GitHub Actions toolkit.' }],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'policies/ is pure: read the clock from context.now.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'policies/ is pure: read the clock from context.now.',
        },
        {
          selector: "MemberExpression[object.name='process']",
          message: 'policies/ is pure: no process access.',
        },
      ],
    },
  },
);

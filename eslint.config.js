// ESLint: the type-aware checks of typescript-eslint and the layering of src/ (each folder one room,
// importing only what it may; docs/architecture.md draws them). Import circles are dependency-cruiser's
// (.dependency-cruiser.cjs); the format is Prettier's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * One config per room of src/: the imports its files may not make, `paths` by module name and
 * `patterns` by path (gitignore syntax, relative to the importing file), and `typesOnly`: paths
 * from which it may import types and nothing else; each with the reason shown.
 */
function rooms(table) {
  return Object.entries(table).map(([folder, { why, paths = [], patterns = [], typesOnly = [] }]) => ({
    files: [folder.endsWith('.ts') ? folder : `${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: paths.map((name) => ({ name, message: why })),
          patterns: [
            ...(patterns.length > 0 ? [{ group: patterns, message: why }] : []),
            ...(typesOnly.length > 0 ? [{ group: typesOnly, message: why, allowTypeImports: true }] : []),
          ],
        },
      ],
    },
  }));
}

const KUBERNETES_CLIENT = '@kubernetes/client-node';
// Any file of src/influx but its public face.
const INFLUX_INSIDE = ['**/influx/*', '!**/influx/index.js'];
// The decision rooms: InfluxDB's client only by its face, never the wiring above them.
const DECISION_ROOM = [...INFLUX_INSIDE, '**/controllers/*', '**/config.js', '**/main.js'];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.cache/', '.cluster/', 'deploy/', 'crds/', 'config/', '*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // `_name` marks what is left out on purpose (a destructured field dropped, an unused parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Plain JavaScript (this file): no types to check.
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['src/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    // Tests and benchmarks drive the code from outside: a stand-in's loose JSON, fakes of async
    // ports that answer at once, harnesses handed out as objects of functions.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },

  // The rooms of src/ and what each may import (docs/architecture.md draws them).
  ...rooms({
    'src/runtime': {
      why: 'src/runtime is the machinery of any controller: it knows nothing of InfluxDB nor of our resources',
      patterns: [
        '**/api/*',
        '**/influx/*',
        '**/kube/*',
        '**/onboarding/*',
        '**/access/*',
        '**/controllers/*',
        '**/config.js',
        '**/main.js',
      ],
    },
    'src/influx': {
      why: 'src/influx talks to InfluxDB: it knows nothing of Kubernetes nor of the rest of the operator',
      paths: [KUBERNETES_CLIENT],
      patterns: ['../*/*', '../*.js', `${KUBERNETES_CLIENT}/*`],
    },
    'src/api': {
      why: "src/api holds the resources' types and rules: it builds on nothing but the runtime's vocabulary (types)",
      typesOnly: ['**/runtime/*'],
      paths: [KUBERNETES_CLIENT],
      patterns: [
        '**/influx/*',
        '**/kube/*',
        '**/onboarding/*',
        '**/access/*',
        '**/controllers/*',
        '**/config.js',
        '**/main.js',
        '**/log.js',
      ],
    },
    'src/kube': {
      why: 'src/kube adapts Kubernetes for the decisions: it knows nothing of InfluxDB nor of the decisions, and of the runtime only its vocabulary (types)',
      typesOnly: ['**/runtime/*'],
      patterns: ['**/influx/*', '**/onboarding/*', '**/access/*', '**/controllers/*', '**/config.js', '**/main.js'],
    },
    'src/onboarding': {
      why: "the onboarding decision reaches InfluxDB through the client's public face (src/influx/index.ts), Kubernetes through ports, and is no neighbour's business",
      paths: [KUBERNETES_CLIENT],
      patterns: [...DECISION_ROOM, '**/access/*'],
    },
    'src/access': {
      why: "the access decisions reach InfluxDB through the client's public face (src/influx/index.ts), Kubernetes through ports, and are no neighbour's business",
      paths: [KUBERNETES_CLIENT],
      patterns: [...DECISION_ROOM, '**/onboarding/*'],
    },
    'src/controllers': {
      why: "controllers are declarations that main wires; InfluxDB's client is used by its public face (src/influx/index.ts)",
      patterns: ['**/main.js', ...INFLUX_INSIDE],
    },
    'src/*.ts': {
      why: "InfluxDB's client is used by its public face (src/influx/index.ts)",
      patterns: INFLUX_INSIDE,
    },
  }),
);

/** One jest run for the whole monorepo; TypeScript is stripped by SWC (types are checked by `tsc -b`). */
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  },
];

/** @type {import('jest').Config} */
module.exports = {
  // Fails a test file that leaves a timer, socket, server or child process running.
  testEnvironment: '<rootDir>/testing/testkit/src/leak-check-environment.ts',
  // Refuses to run when a workspace's dist/ is older than its src/ (npm run build fixes it).
  globalSetup: '<rootDir>/testing/testkit/src/refuse-stale-builds.ts',
  transform: { '^.+\\.(t|j|mj)s$': swc },
  // jose is ESM-only and jest 30's loader refuses it; let SWC turn it into CommonJS (docs/machine-notes.md).
  transformIgnorePatterns: ['/node_modules/(?!(jose)/)'],
  moduleNameMapper: {
    '^@ctos/(protocol|transport|runtime)$': '<rootDir>/packages/$1/src',
    '^@ctos/(launcher|bench)$': '<rootDir>/apps/$1/src',
    '^@ctos/(testkit|anthropic-standin)$': '<rootDir>/testing/$1/src',
    '^@ctos/(gateway|terminal-worker|ai-worker|message-worker)$': '<rootDir>/services/$1/src',
  },
  testMatch: ['<rootDir>/**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 60_000,
  // Tests start real processes; two cores, two workers.
  maxWorkers: 2,
};

/** @type {import('jest').Config} */
module.exports = {
  // Node's environment, with the output of each test (Powertools logs, EMF, console) kept back
  // and shown only when that test fails. TEST_OUTPUT=all shows everything.
  testEnvironment: '<rootDir>/test/support/quiet-environment.ts',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2023' } }] },
  // PGlite boots in ~2.5 s and the HTTP stack in a few hundred ms; some tests also synthesize
  // the CDK app (10-20 s alone). Room for a loaded 2-core machine: a hang still fails.
  testTimeout: 180_000,
};

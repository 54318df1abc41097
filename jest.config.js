/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2023' } }] },
  // PGlite boots in ~2.5 s and the HTTP stack in a few hundred ms; some tests also synthesize
  // the CDK app (10-20 s alone). Room for a loaded 2-core machine: a hang still fails.
  testTimeout: 180_000,
};

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2023' } }] },
  // PGlite boots in ~2.5 s and the HTTP stack in a few hundred ms; give real I/O room.
  testTimeout: 60_000,
};

/** @type {import('jest').Config} */
module.exports = {
  // Node's environment, with the output of each test (Powertools logs, EMF, console) kept back
  // and shown only when that test fails. TEST_OUTPUT=all shows everything.
  testEnvironment: '<rootDir>/test/support/quiet-environment.ts',
  // PGlite pass: migrates one embedded database, which every test file's stack starts from.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2023' } }] },
  // Three workers on two cores: most test files spend part of their time waiting (on HTTP, the
  // database, child processes, leases running out), and a third worker fills those gaps. On
  // this 2-core machine, idle: 158 s on two workers, 138 s on three (the lib tests alone: 110 s
  // in band, 65 s on two workers). A worker is replaced once it holds more than the limit after
  // a file: in one long-lived process the PGlite instances and CDK module graphs of earlier
  // files pile up (3 GB), and every later file ran several times slower than alone.
  maxWorkers: 3,
  workerIdleMemoryLimit: '1GB',
  // Some tests synthesize the CDK app (10-20 s alone) or start stacks per test. Room for a
  // loaded 2-core machine: a hang still fails.
  testTimeout: 180_000,
};

#!/usr/bin/env node
// Thin shim: lets `npx export-ops …` run the TypeScript CLI without a build step. tsx hooks
// both require() and import(), which the CLI uses to load each command only when called.
require('tsx/esm/api').register();
require('tsx/cjs/api').register();
require('./main.ts');

#!/usr/bin/env node
// Thin shim: lets `npx export-ops …` run the TypeScript CLI without a build step.
require('tsx/cjs');
require('./main.ts');

#!/usr/bin/env node
// The lrfr command line. Runs the TypeScript sources directly (tsx), after bundling shaders/.
import { register } from 'tsx/esm/api';
import { genShaders } from '../scripts/gen-shaders.mjs';

genShaders();
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
// Dawn keeps handles open; leave once the command is done.
process.exit(process.exitCode);

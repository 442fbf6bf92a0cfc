#!/usr/bin/env node
// The `dreamlake` command: runs the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../src/bin.ts');
const code = await run(process.argv.slice(2), process);
process.exit(code);

#!/usr/bin/env node
// The `dreamlake` command: runs the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

process.once('SIGINT', () => {
  // Parts already sent are recorded as they finish: running the same upload again resumes.
  process.stderr.write('\ninterrupted (an upload resumes where it stopped when run again)\n');
  process.exit(130);
});

register();
const { run } = await import('../src/bin.ts');
const code = await run(process.argv.slice(2), process);
process.exit(code);

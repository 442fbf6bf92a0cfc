#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
// Runs every *.test.ts under packages/*/test with node:test through tsx.
// Node 20's --test does not expand globs, so the files are listed here.
// Extra arguments narrow the run: `npm test -- bss` runs only files whose path contains "bss".
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const filters = process.argv.slice(2);
const files = readdirSync('packages')
  .flatMap((pkg) => {
    try {
      return walk(join('packages', pkg, 'test'));
    } catch {
      return [];
    }
  })
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();

if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Services the tests start in child processes load @dreamlake/protocol's compiled JavaScript:
// build it first, so that they never run older rules than the tests (a few seconds).
const built = spawnSync(
  process.execPath,
  ['node_modules/typescript/bin/tsc', '-p', 'packages/protocol/tsconfig.build.json'],
  {
    stdio: 'inherit',
  },
);
if (built.status !== 0) process.exit(built.status ?? 1);
const result = spawnSync(
  process.execPath,
  ['--conditions=source', '--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);

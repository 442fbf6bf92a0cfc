#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
// Runs every *.test.ts under packages/*/test (each package's own tests) and test/ (the tests that
// bring several packages together, and those of the scripts and support code at the root) with
// node:test through tsx.
// Node 20's --test does not expand globs, so the files are listed here.
// Extra arguments narrow the run: `npm test -- bss` runs only files whose path contains "bss";
// one that starts with ./ matches from the repository's root (`./test/` is the root tests alone).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

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
  .concat(walk('test'))
  .filter((file) => filters.length === 0 || filters.some((f) => `./${file}`.includes(f)))
  .sort();

if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Services the tests start in child processes load the packages' compiled JavaScript (the
// test processes themselves run the TypeScript sources): build a package whose sources are newer
// than its build, so that no child runs older code than the tests. A run whose tests start no
// process (none of them reaches node:child_process through its relative imports) needs no build,
// so a package's own tests run with no other package built (`node scripts/test.mjs packages/protocol`).
function startsProcesses(file, seen = new Set()) {
  if (seen.has(file)) return false;
  seen.add(file);
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  if (/from\s+['"]node:child_process['"]/.test(text)) return true;
  const imports = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)];
  return imports.some(([, spec]) => startsProcesses(resolve(dirname(file), spec), seen));
}

function newest(dir) {
  return readdirSync(dir).reduce((latest, name) => {
    const path = join(dir, name);
    const info = statSync(path);
    return Math.max(latest, info.isDirectory() ? newest(path) : info.mtimeMs);
  }, 0);
}
const seen = new Set();
const builds = files.some((file) => startsProcesses(resolve(file), seen))
  ? ['protocol', 'presign', 'service', 'server', 'bss']
  : [];
for (const pkg of builds) {
  const dir = join('packages', pkg);
  const built = join(dir, 'dist', 'index.js');
  let builtAt = 0;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {}
  if (builtAt >= newest(join(dir, 'src'))) continue;
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', join(dir, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}
// Tests that measure the page's responsiveness (long tasks) run alone, after the others: two
// files at once on a 2-core machine would measure the other test's load, not the page.
const alone = files.filter((file) => file.endsWith('many-files.test.ts'));
const together = files.filter((file) => !alone.includes(file));
let status = 0;
for (const [batch, concurrency] of [
  [together, 2],
  [alone, 1],
]) {
  if (batch.length === 0) continue;
  const result = spawnSync(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-reporter=spec',
      ...batch,
    ],
    { stdio: 'inherit' },
  );
  status ||= result.status ?? 1;
}
process.exit(status);

#!/usr/bin/env node
// The `dreamlake` command. It runs the compiled JavaScript in dist/ (built by `npm ci` through the
// root `prepare` script, or `npm run build`), with source maps so that stack traces name the .ts
// files; when there is no build, or a source file changed after it, the TypeScript sources run
// through tsx instead.
//
// Start-up loads only what the command line needs: `--version` reads package.json and nothing else,
// `--help` the commands' definitions (commander), and each command its own modules when it runs
// (src/bin.ts).
import { createRequire } from 'node:module';

// Required, not imported: node:fs's ES module face reads all its exports, fs.promises too, which
// loads that module as well before anything needs it.
const require = createRequire(import.meta.url);
const { existsSync, readdirSync, readFileSync, statSync } = require('node:fs');
const { fileURLToPath } = require('node:url');

process.once('SIGINT', () => {
  // Parts sent and ranges received are recorded as they finish: running the same command again resumes.
  process.stderr.write('\ninterrupted (an upload or download resumes where it stopped when run again)\n');
  process.exit(130);
});

// A reader that stops early (`dreamlake ls alice/robot | head -2`) closes the pipe: end quietly with
// the status a closed pipe gives ls or cat (128 + SIGPIPE), not a stack trace. Anything an upload or
// download recorded so far is kept, and running it again resumes.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(141);
    throw error;
  });
}

/** The newest modification time of the files under a folder. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/**
 * The command line (src/bin.ts): the build when it is at least as new as every source file, else the
 * sources through tsx, so that a checkout never runs a stale build. Each source file is looked at,
 * since any of them may have been edited; a stamp the build wrote would not spare that.
 */
async function commandLine() {
  const src = fileURLToPath(new URL('../src/', import.meta.url));
  const built = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
  if (existsSync(built) && (!existsSync(src) || statSync(built).mtimeMs >= newest(src))) {
    const bin = await import('../dist/bin.js');
    // Source maps are read as each module loads, from then on: turned on after the commands'
    // definitions, `--help` reads none (they would cost it memory and CPU for nothing), and every
    // module a command loads still has its stack frames named by the .ts files.
    process.setSourceMapsEnabled(true);
    return bin;
  }
  const { register } = await import('tsx/esm/api');
  register();
  return import('../src/bin.ts');
}

const args = process.argv.slice(2);
let code = 0;
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // What commander prints for these, without loading it or the build.
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${version}\n`);
} else {
  const bin = await commandLine();
  const { setFlagsFromString } = require('node:v8');
  // A folder of 100,000s of files makes a lot of short-lived garbage: collect it sooner rather than
  // let the heap grow to several times what is live.
  setFlagsFromString('--optimize-for-size');
  // The HTTP client parses answers with a WebAssembly build of llhttp; once it is busy, V8 compiles
  // that module again with its optimizing tier in the background, which holds memory for a while.
  // Its baseline code is enough here: over many small-file uploads CPU did not rise and peak RSS
  // fell (docs/benchmarks.md, measurements behind choices in the code).
  setFlagsFromString('--liftoff-only');
  code = await bin.run(args, process);
}
// Into a pipe, output is written asynchronously: exiting at once would cut off the last lines
// (the tail of an `upload --json` over many files). An empty write calls back once all before it
// is out.
await Promise.all(
  [process.stdout, process.stderr].map((stream) => new Promise((done) => stream.write('', () => done()))),
);
process.exit(code);

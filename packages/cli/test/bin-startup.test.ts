// What `dreamlake` loads before it answers: `--version` and `--help` must not pay for the HTTP client,
// the upload and download engines or any command's module, which load only when that command runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../src/bin.ts';
import { ASSET_TYPES } from '../src/types.ts';
import { fakeIo } from './io.ts';

const bin = fileURLToPath(new URL('../bin/dreamlake.js', import.meta.url));

/**
 * Module hooks that append to $MODULE_LOG every file the module loader loads (ES modules, and
 * CommonJS ones imported from them), and at exit every CommonJS module required.
 */
const loadHook =
  'import { appendFileSync } from "node:fs"; export async function load(url, context, next) { appendFileSync(process.env.MODULE_LOG, url + "\\n"); return next(url, context); }';
const preload = `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(loadHook)}));
process.on('exit', () => {
  const required = Object.keys(createRequire(process.cwd() + '/').cache);
  appendFileSync(process.env.MODULE_LOG, required.map((path) => 'file://' + path + '\\n').join(''));
});`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The files loaded, as paths relative to the repository (node_modules/…, packages/…). */
  loaded: string[];
}

async function runLogged(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), 'dreamlake-startup-'));
  const log = join(dir, 'modules.log');
  try {
    const child = spawn(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(preload)}`, bin, ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          MODULE_LOG: log,
          DREAMLAKE_HOME: join(dir, 'home'),
          NO_COLOR: '1',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const loaded = (await readFile(log, 'utf8').catch(() => ''))
      .split('\n')
      .filter((url) => url.startsWith('file://'))
      .map((url) => fileURLToPath(url).replace(root, ''));
    return { code, stdout, stderr, loaded: [...new Set(loaded)] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The transfer machinery and the commands: what only a command that runs may load. */
const COMMAND_ONLY = /^(node_modules\/undici\/|packages\/cli\/(src|dist)\/(upload|download|sync|commands)\/)/;

test('the module log sees what a command loads (ls loads its module and the HTTP client)', async () => {
  const { code, stderr, loaded } = await runLogged(['ls', 'alice/robot', '--server', 'http://127.0.0.1:9'], {
    DREAMLAKE_TOKEN: 'dl_test',
  });
  assert.equal(code, 1, stderr);
  assert.match(stderr, /^dreamlake: cannot reach http:\/\/127\.0\.0\.1:9/);
  assert.ok(
    loaded.some((path) => /^packages\/cli\/(src|dist)\/commands\/ls\.(ts|js)$/.test(path)),
    loaded.join('\n'),
  );
  assert.ok(
    loaded.some((path) => path.startsWith('node_modules/undici/')),
    loaded.join('\n'),
  );
});

test('--version and -V print the version having loaded nothing but the command itself', async () => {
  const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  for (const flag of ['--version', '-V']) {
    const { code, stdout, stderr, loaded } = await runLogged([flag]);
    assert.equal(code, 0, flag);
    assert.equal(stdout, `${version}\n`, flag);
    assert.equal(stderr, '', flag);
    assert.deepEqual(loaded, ['packages/cli/bin/dreamlake.js'], flag);
  }
});

test('help loads no command, nor the HTTP client or the upload and download engines', async () => {
  for (const args of [['--help'], ['ls', '--help'], ['upload', '--help'], ['help', 'download'], ['sync', '--help']]) {
    const { code, stdout, stderr, loaded } = await runLogged(args);
    assert.equal(code, 0, args.join(' '));
    assert.match(stdout, /^Usage: dreamlake /, args.join(' '));
    assert.equal(stderr, '', args.join(' '));
    assert.ok(loaded.length > 1, `${args.join(' ')}: the log names the modules loaded`);
    assert.deepEqual(
      loaded.filter((path) => COMMAND_ONLY.test(path)),
      [],
      args.join(' '),
    );
  }
});

test("upload --type still offers and checks the protocol's asset types, which start-up leaves out", async () => {
  const env = { DREAMLAKE_HOME: '/nonexistent/dreamlake-home', NO_COLOR: '1' };
  for (const args of [
    ['upload', '--help'],
    ['help', 'upload'],
  ]) {
    const f = fakeIo(env);
    assert.equal(await run(args, f.io), 0, args.join(' '));
    const help = f.stdout().replace(/\s+/g, ' ');
    assert.ok(help.includes(`(choices: ${ASSET_TYPES.map((t) => `"${t}"`).join(', ')})`), help);
  }
  const f = fakeIo(env);
  assert.equal(await run(['upload', 'x.bin', '--to', 'alice/robot', '--type', 'bogus'], f.io), 2);
  assert.equal(
    f.stderr(),
    `dreamlake: option '--type <type>' argument 'bogus' is invalid. Allowed choices are ${ASSET_TYPES.join(', ')}.\n`,
  );
});

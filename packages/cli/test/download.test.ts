/**
 * `download` in-process against a stand-in server (a local HTTP server on port 0 that answers the
 * download grant and serves the bytes, in two halves; a test may hold the second half back).
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../src/bin.ts';
import { fakeIo } from './io.ts';

const bytes = Buffer.alloc(3 * 1024 * 1024, 'dreamlake ');
const goodHash = createHash('sha256').update(bytes).digest('hex');
let server: Server;
let env: Record<string, string>;
let work: string;
/** Awaited before the blob's second half is sent; a test holds it until it has seen what it waits for. */
let secondHalf: () => Promise<void> = () => Promise.resolve();

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'dreamlake-download-'));
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/namespaces/ann/spaces/runs/files/download') {
      const name = url.searchParams.get('name') ?? '';
      const hash = name.startsWith('bad') ? 'f'.repeat(64) : goodHash;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          url: `${env.DREAMLAKE_SERVER}/blob`,
          name,
          hash,
          size: bytes.length,
          contentType: 'application/octet-stream',
        }),
      );
      return;
    }
    if (url.pathname === '/blob') {
      res.setHeader('content-length', String(bytes.length));
      res.write(bytes.subarray(0, bytes.length / 2));
      void secondHalf().then(() => res.end(bytes.subarray(bytes.length / 2)));
      return;
    }
    res.statusCode = 404;
    res.end(JSON.stringify({ error: { code: 'not_found', message: 'no such thing' } }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  env = {
    DREAMLAKE_HOME: join(work, 'home'),
    DREAMLAKE_SERVER: `http://127.0.0.1:${port}`,
    DREAMLAKE_TOKEN: 't',
    NO_COLOR: '1',
  };
});
after(async () => {
  server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test('on a terminal, a download shows bytes, rate and ETA, then clears the line for the result', {
  timeout: 60_000,
}, async (t) => {
  const dir = await mkdtemp(join(work, 'tty-'));
  const f = fakeIo(env, { tty: true, cwd: dir });
  // The second half is held until a frame drawn part-way is on the terminal.
  const partWay = /\] big\.bin +[\d.]+ (KiB|MiB) \/ 3\.0 MiB/;
  const framed = new Promise<void>((resolve) => {
    const stdout = f.io.stdout as NodeJS.WritableStream;
    const write = stdout.write.bind(stdout) as (...args: unknown[]) => boolean;
    stdout.write = ((...args: unknown[]) => {
      const written = write(...args);
      if (partWay.test(f.stdout())) resolve();
      return written;
    }) as typeof stdout.write;
  });
  secondHalf = () => framed;
  t.after(() => {
    secondHalf = () => Promise.resolve();
  });
  assert.equal(await run(['download', 'ann/runs/big.bin'], f.io), 0, f.stderr());
  const out = f.stdout();
  assert.match(out, /\[#* *\] big\.bin +\d+(\.\d)? (B|KiB|MiB) \/ 3\.0 MiB +[\d.]+ (B|KiB|MiB)\/s +ETA \S+/);
  assert.match(out, /\] big\.bin +[\d.]+ (KiB|MiB) \/ 3\.0 MiB/, 'a frame drawn part-way shows the bytes so far');
  const last = out.split('\r\x1b[2K').pop();
  assert.equal(last, `${join(dir, 'big.bin')}  3.0 MiB  sha256 ${goodHash} verified\n`);
  assert.ok((await readFile(join(dir, 'big.bin'))).equals(bytes));
});

test('without a terminal, a download prints only its result line', async () => {
  const dir = await mkdtemp(join(work, 'plain-'));
  const f = fakeIo(env, { tty: false, cwd: dir });
  assert.equal(await run(['download', 'ann/runs/big.bin', '-o', 'copy.bin'], f.io), 0, f.stderr());
  assert.equal(f.stdout(), `${join(dir, 'copy.bin')}  3.0 MiB  sha256 ${goodHash} verified\n`);
  assert.equal(f.stderr(), '');
});

test('without -o the file lands under its base name in the current folder; an existing file needs --force', async () => {
  const dir = await mkdtemp(join(work, 'default-'));
  const first = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs/sub/deep/big.bin'], first.io), 0, first.stderr());
  assert.deepEqual(await readdir(dir), ['big.bin']);

  await writeFile(join(dir, 'big.bin'), 'mine\n');
  const refused = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs/sub/deep/big.bin'], refused.io), 1);
  assert.equal(
    refused.stderr(),
    `dreamlake: ${join(dir, 'big.bin')} already exists: pass --force to overwrite it, or choose another path with -o\n`,
  );
  assert.equal(await readFile(join(dir, 'big.bin'), 'utf8'), 'mine\n', 'the existing file is untouched');

  const forced = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs/sub/deep/big.bin', '--force'], forced.io), 0, forced.stderr());
  assert.ok((await readFile(join(dir, 'big.bin'))).equals(bytes));
  assert.deepEqual(await readdir(dir), ['big.bin'], 'no temporary file left beside it');
});

test('a mismatch with --force leaves the existing file as it was and no temporary file', async () => {
  const dir = await mkdtemp(join(work, 'mismatch-'));
  await writeFile(join(dir, 'bad.bin'), 'keep me\n');
  const f = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs/bad.bin', '--force'], f.io), 1);
  assert.match(
    f.stderr(),
    /^dreamlake: SHA-256 mismatch for bad\.bin: expected f{64}, received [0-9a-f]{64} .*deleted\n$/,
  );
  assert.deepEqual(await readdir(dir), ['bad.bin']);
  assert.equal(await readFile(join(dir, 'bad.bin'), 'utf8'), 'keep me\n');
});

/**
 * `download` of a folder in-process against a stand-in server (a local HTTP server on port 0 that
 * lists a space whose index holds whatever a test puts in it, grants URLs and serves byte ranges).
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../src/bin.ts';
import { fakeIo } from './io.ts';

const MIB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Stored {
  name: string;
  bytes: Buffer;
  /** The hash the index gives (another one than the bytes' for a corrupt entry). */
  hash: string;
}

const pattern = (size: number, seed: number) => {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE(((i * 2654435761) ^ seed) >>> 0, i);
  return b;
};
const entry = (name: string, bytes: Buffer, hash = sha(bytes)): Stored => ({ name, bytes, hash });

let index: Stored[] = [];
/** How the blob route behaves: refuse ranges from this byte on (403), or cut the first answer part-way. */
let refuseFrom = Number.POSITIVE_INFINITY;
let cutFirstAnswerAt: number | undefined;
const served: Array<{ name: string; range: string | undefined; bytes: number }> = [];
let server: Server;
let env: Record<string, string>;
let work: string;

function grant(file: Stored) {
  return {
    url: `${env.DREAMLAKE_SERVER}/blob?name=${encodeURIComponent(file.name)}`,
    name: file.name,
    hash: file.hash,
    size: file.bytes.length,
    contentType: 'application/octet-stream',
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

function serveBlob(req: IncomingMessage, res: ServerResponse, file: Stored): void {
  const size = file.bytes.length;
  const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const start = match ? Number(match[1]) : 0;
  const end = match?.[2] ? Number(match[2]) + 1 : size;
  if (start >= refuseFrom) {
    json(res, 403, { error: { code: 'expired_signature', message: 'expired' } });
    return;
  }
  const body = file.bytes.subarray(start, end);
  served.push({ name: file.name, range: req.headers.range, bytes: body.length });
  res.statusCode = match ? 206 : 200;
  if (match) res.setHeader('content-range', `bytes ${start}-${end - 1}/${size}`);
  res.setHeader('content-length', String(body.length));
  if (cutFirstAnswerAt !== undefined) {
    const cut = cutFirstAnswerAt;
    cutFirstAnswerAt = undefined;
    res.write(body.subarray(0, cut), () => setTimeout(() => res.destroy(), 50));
    return;
  }
  res.end(body);
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'dreamlake-download-folder-'));
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const byName = (name: string | null) => index.find((f) => f.name === name);
    if (url.pathname === '/namespaces/ann/spaces/runs/files')
      return json(res, 200, {
        files: index.map((f) => ({ ...grant(f), namespace: 'ann', space: 'runs', type: 'files' })),
      });
    if (url.pathname === '/namespaces/ann/spaces/runs/files/download') {
      const file = byName(url.searchParams.get('name'));
      return file ? json(res, 200, grant(file)) : json(res, 404, { error: { code: 'not_found', message: 'no file' } });
    }
    if (url.pathname === '/downloads/batch' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { files: Array<{ name: string }> };
      return json(res, 200, {
        files: body.files.map(({ name }, index) => {
          const file = byName(name);
          return file ? { index, ...grant(file) } : { index, error: { code: 'not_found', message: 'no file' } };
        }),
      });
    }
    const file = url.pathname === '/blob' ? byName(url.searchParams.get('name')) : undefined;
    if (file) return serveBlob(req, res, file);
    json(res, 404, { error: { code: 'not_found', message: 'no such thing' } });
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

async function files(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (at: string): Promise<void> => {
    for (const e of await readdir(at, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(at, e.name));
      else found.push(relative(dir, join(at, e.name)));
    }
  };
  await walk(dir);
  return found.sort();
}

test('names that would land outside the folder, or that no system can hold, are refused and nothing is written for them', async () => {
  const dir = await mkdtemp(join(work, 'unsafe-'));
  const text = Buffer.from('x\n');
  index = [
    entry('ok/fine.txt', Buffer.from('fine\n')),
    entry('../evil.txt', text),
    entry('ok/../../evil2.txt', text),
    entry('/tmp/abs.txt', text),
    entry('C:/win.txt', text),
    entry('ok/CON.txt', text),
    entry('nul\u0000.txt', text),
    entry('back\\slash.txt', text),
    entry('ok//empty.txt', text),
    entry('bad.bin', Buffer.from('the stored bytes\n'), 'e'.repeat(64)),
  ];
  const f = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs', '-o', 'out'], f.io), 1);
  assert.deepEqual(await readdir(dir), ['out'], 'nothing beside the target folder');
  assert.deepEqual(await files(join(dir, 'out')), ['ok/fine.txt']);
  const err = f.stderr();
  for (const name of ['../evil.txt', 'ok/../../evil2.txt', '/tmp/abs.txt', 'C:/win.txt', 'ok//empty.txt'])
    assert.ok(err.includes(`refused "${name}"`), `${name} refused:\n${err}`);
  assert.match(err, /refused "ok\/CON\.txt": "CON\.txt" is a reserved device name on Windows; nothing was written/);
  assert.ok(err.includes('refused "nul\\u{0}.txt": the name contains a NUL character'), err);
  assert.match(err, /refused "back\\slash\.txt": the name contains a control or reserved character/);
  assert.match(err, /SHA-256 mismatch for bad\.bin: expected e{64}, received [0-9a-f]{64}/);
  assert.match(err, /dreamlake: 9 of 10 files failed/);
  assert.match(f.stdout(), /out\/ok\/fine\.txt {2}5 B {2}sha256 [0-9a-f]{64} verified\n/);
});

test('a large file stopped part-way keeps the ranges it wrote; the next run asks only for the others', async () => {
  const dir = await mkdtemp(join(work, 'ranges-'));
  const big = pattern(20 * MIB + 3, 5);
  index = [entry('big/data.bin', big)];
  served.length = 0;
  refuseFrom = 16 * MIB;
  const first = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs/big', '-o', 'out'], first.io), 1);
  assert.match(first.stderr(), /expired_signature/);
  const left = await readdir(join(dir, 'out'));
  assert.deepEqual(left.sort(), [
    `data.bin.${sha(big).slice(0, 12)}.partial`,
    `data.bin.${sha(big).slice(0, 12)}.partial.json`,
  ]);

  refuseFrom = Number.POSITIVE_INFINITY;
  served.length = 0;
  const second = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs/big', '-o', 'out', '--json'], second.io), 0, second.stderr());
  const line = JSON.parse(second.stdout()) as { resumedBytes: number; hash: string; path: string };
  assert.equal(line.resumedBytes, 16 * MIB);
  assert.deepEqual(
    served.map((s) => s.range),
    [`bytes=${16 * MIB}-${20 * MIB + 2}`],
    'only the range not written before is asked for',
  );
  assert.ok((await readFile(join(dir, 'out', 'data.bin'))).equals(big));
  assert.deepEqual(await readdir(join(dir, 'out')), ['data.bin']);
});

test('a connection lost part-way through a file continues with Range from the bytes already written', async () => {
  const dir = await mkdtemp(join(work, 'cut-'));
  const bytes = pattern(3 * MIB, 9);
  index = [entry('s.bin', bytes)];
  served.length = 0;
  cutFirstAnswerAt = MIB;
  const f = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs/s.bin'], f.io), 0, f.stderr());
  assert.match(f.stderr(), /retrying in/);
  assert.equal(served[0]?.range, undefined);
  // The second request starts after what the first one wrote (up to the 1 MiB sent before the cut).
  const resumedAt = Number(/^bytes=(\d+)-$/.exec(served[1]?.range ?? '')?.[1] ?? 0);
  assert.ok(resumedAt > 0 && resumedAt <= MIB, `resumed at ${served[1]?.range}`);
  assert.equal(served[1]?.bytes, bytes.length - resumedAt);
  assert.ok((await readFile(join(dir, 's.bin'))).equals(bytes));
  assert.deepEqual(await readdir(dir), ['s.bin']);
});

test('a file already there with the same SHA-256 is skipped without a request for its bytes', async () => {
  const dir = await mkdtemp(join(work, 'skip-'));
  index = [entry('a/one.txt', Buffer.from('one\n')), entry('a/two.txt', Buffer.from('two\n'))];
  assert.equal(await run(['download', 'ann/runs/a', '-o', 'out'], fakeIo(env, { cwd: dir }).io), 0);
  served.length = 0;
  await mkdir(join(dir, 'out'), { recursive: true });
  const again = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs/a', '-o', 'out', '--json'], again.io), 0, again.stderr());
  const lines = again
    .stdout()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { skipped: boolean });
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.skipped));
  assert.deepEqual(served, []);
});

/**
 * `download` against a stand-in server: a link planted where a partial or state file goes is not
 * written through, and a single file's name from the server goes through the same checks as the
 * names of a folder's files.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { link, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../src/bin.ts';
import { fakeIo } from './io.ts';

const MIB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const pattern = (size: number, seed: number) => {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE(((i * 2654435761) ^ seed) >>> 0, i);
  return b;
};

const small = pattern(100_000, 1);
/** Over the 8 MiB range size: fetched in ranges, with a state file. */
const large = pattern(9 * MIB, 2);
const blobs: Record<string, Buffer> = { 'small.bin': small, 'large.bin': large };
/** The name the server answers for each name asked: its own, unless a test says otherwise. */
const answeredName = new Map<string, string>();

let server: Server;
let env: Record<string, string>;
let work: string;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

function serveBlob(req: IncomingMessage, res: ServerResponse, bytes: Buffer): void {
  const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const start = match ? Number(match[1]) : 0;
  const end = match?.[2] ? Number(match[2]) + 1 : bytes.length;
  res.statusCode = match ? 206 : 200;
  if (match) res.setHeader('content-range', `bytes ${start}-${end - 1}/${bytes.length}`);
  res.setHeader('content-length', String(end - start));
  res.end(bytes.subarray(start, end));
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'dreamlake-download-links-'));
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/namespaces/ann/spaces/runs/files/download') {
      const asked = url.searchParams.get('name') ?? '';
      const bytes = blobs[asked.split('/').pop() as string] ?? small;
      if (!bytes) return json(res, 404, { error: { code: 'not_found', message: 'no file' } });
      return json(res, 200, {
        url: `${env.DREAMLAKE_SERVER}/blob?name=${encodeURIComponent(asked)}`,
        name: answeredName.get(asked) ?? asked,
        hash: sha(bytes),
        size: bytes.length,
        contentType: 'application/octet-stream',
      });
    }
    const named = url.searchParams.get('name') ?? '';
    const bytes = url.pathname === '/blob' ? (blobs[named.split('/').pop() as string] ?? small) : undefined;
    if (bytes) return serveBlob(req, res, bytes);
    json(res, 404, { error: { code: 'not_found', message: 'no such thing' } });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  env = {
    DREAMLAKE_HOME: join(work, 'home'),
    DREAMLAKE_SERVER: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    DREAMLAKE_TOKEN: 't',
    NO_COLOR: '1',
  };
});
after(async () => {
  server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const partial = (name: string, bytes: Buffer) => `${name}.${sha(bytes).slice(0, 12)}.partial`;

test('a symbolic link planted at the partial file is not written through: the file it points at is unchanged', async () => {
  const dir = await mkdtemp(join(work, 'partial-link-'));
  const victim = join(work, 'victim-1.txt');
  await writeFile(victim, 'precious\n');
  await symlink(victim, join(dir, partial('small.bin', small)));
  const f = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs/small.bin'], f.io), 1);
  assert.match(f.stderr(), /small\.bin\.[0-9a-f]{12}\.partial is a symbolic link/);
  assert.equal(await readFile(victim, 'utf8'), 'precious\n');
  assert.ok(!(await readdir(dir)).includes('small.bin'), 'nothing put in place');
});

test('a hard link planted at the partial file is not written through either', async () => {
  const dir = await mkdtemp(join(work, 'partial-hard-'));
  const victim = join(dir, 'victim-2.txt');
  await writeFile(victim, 'precious\n');
  await link(victim, join(dir, partial('small.bin', small)));
  const f = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs/small.bin'], f.io), 1);
  assert.match(f.stderr(), /other links/);
  assert.equal(await readFile(victim, 'utf8'), 'precious\n');
});

test('links planted at the state file and its temporary copy are not written through; the download still succeeds', async () => {
  const dir = await mkdtemp(join(work, 'state-link-'));
  const victims = [join(work, 'victim-3.txt'), join(work, 'victim-4.txt')];
  for (const v of victims) await writeFile(v, 'precious\n');
  const state = `${partial('large.bin', large)}.json`;
  await symlink(victims[0] as string, join(dir, state));
  await symlink(victims[1] as string, join(dir, `${state}.tmp`));
  const f = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs/large.bin'], f.io), 0, f.stderr());
  for (const v of victims) assert.equal(await readFile(v, 'utf8'), 'precious\n', v);
  assert.ok((await readFile(join(dir, 'large.bin'))).equals(large));
  assert.deepEqual(await readdir(dir), ['large.bin'], 'the links went with the state files');
});

test('a single file whose name from the server is hostile is refused, and nothing is written', async () => {
  for (const [asked, answered, reason] of [
    // A server that answers another name than the one asked for does not choose the local name.
    ['small.bin', '..', /answered for "\.\." when asked for "small\.bin"/],
    ['small.bin', 'sub/..', /answered for "sub\/\.\." when asked for "small\.bin"/],
    ['small.bin', 'other.bin', /answered for "other\.bin"/],
    // A name the index holds (a server that let it in) goes through the folder download's checks.
    ['x/\u001b]0;owned\u0007.txt', undefined, /refused "x\/\\u\{1B\}\]0;owned\\u\{7\}\.txt": .*control/],
    ['sub/CON', undefined, /refused "sub\/CON": "CON" is a reserved device name on Windows/],
    ['trailing.', undefined, /ends in a dot or a space/],
  ] as const) {
    const dir = await mkdtemp(join(work, 'hostile-'));
    if (answered !== undefined) answeredName.set(asked, answered);
    try {
      for (const args of [[], ['-o', '.']]) {
        const f = fakeIo(env, { cwd: dir });
        assert.equal(await run(['download', `ann/runs/${asked}`, ...args], f.io), 1, JSON.stringify(asked));
        assert.match(f.stderr(), reason);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
        assert.doesNotMatch(f.stderr(), /[\u0000-\u001f](?!$)/, 'no control character reaches the terminal');
        assert.deepEqual(await readdir(dir), [], `nothing written for ${JSON.stringify(asked)}`);
      }
    } finally {
      answeredName.delete(asked);
    }
  }
});

test('a single file still lands under its base name, and -o FILE names it as the caller chose', async () => {
  const dir = await mkdtemp(join(work, 'plain-'));
  const f = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs/deep/small.bin'], f.io), 0, f.stderr());
  const g = fakeIo(env, { cwd: dir });
  assert.equal(await run(['download', 'ann/runs/deep/small.bin', '-o', 'mine.dat'], g.io), 0, g.stderr());
  assert.deepEqual((await readdir(dir)).sort(), ['mine.dat', 'small.bin']);
});

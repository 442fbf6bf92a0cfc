/**
 * `dreamlake upload`'s `--type`, `--concurrency` and `DREAMLAKE_BSS`, run in-process against
 * small stand-ins for the server and BSS that record every request: a bad value is refused before
 * anything is asked of either, a good one decides what is asked.
 */

import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../src/bin.ts';
import { fakeIo } from './io.ts';

const MIB = 1024 * 1024;

interface Seen {
  method: string;
  path: string;
  body: unknown;
}

type Handler = (seen: Seen, url: URL, res: ServerResponse) => unknown;

interface StandIn {
  url: string;
  seen: Seen[];
  close(): void;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const noRoute = (res: ServerResponse, seen: Seen): void =>
  send(res, 404, { error: { code: 'not_found', message: `no route for ${seen.method} ${seen.path}` } });

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A local HTTP server that records "METHOD path" and the JSON body of every request, answered by `handler`. */
async function standIn(handler: Handler): Promise<StandIn> {
  const seen: Seen[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const raw = await readBody(req);
    let body: unknown;
    if (req.headers['content-type']?.startsWith('application/json')) body = JSON.parse(raw.toString() || 'null');
    const entry = { method: req.method ?? 'GET', path: url.pathname, body };
    seen.push(entry);
    await handler(entry, url, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    seen,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A server from before `/uploads/init`, lookups and batch grants: every route answers "no route". */
const olderServer = () => standIn((seen, _url, res) => noRoute(res, seen));

/**
 * A BSS serving the unsigned legacy multipart flow (`/{type}/upload/multipart/...`), checking
 * parts by CRC-32. `partGate`, when set, holds each part PUT until it resolves.
 */
async function legacyBss(
  partGate?: () => Promise<void>,
): Promise<StandIn & { parts: number[]; answered: () => number }> {
  const parts: number[] = [];
  let answered = 0;
  const bss: StandIn = await standIn(async (seen, url, res) => {
    const step = /^\/([a-z]+)\/upload\/multipart\/([a-z-]+)$/.exec(seen.path)?.[2];
    if (seen.method === 'POST' && step === 'init')
      return send(res, 200, { uploadId: 'up1', key: 'k1', partCheck: 'crc32' });
    if (seen.method === 'POST' && step === 'parts') {
      const { partNumbers } = seen.body as { partNumbers: number[] };
      return send(res, 200, {
        parts: Object.fromEntries(partNumbers.map((n) => [String(n), `${bss.url}/upload/part?n=${n}`])),
      });
    }
    if (seen.method === 'PUT' && seen.path === '/upload/part') {
      parts.push(Number(url.searchParams.get('n')));
      if (partGate) await partGate();
      answered += 1;
      res.writeHead(200, { etag: `"${'0'.repeat(20)}"` });
      return res.end();
    }
    if (seen.method === 'POST' && step === 'complete') return send(res, 200, { success: true });
    return noRoute(res, seen);
  });
  return Object.assign(bss, { parts, answered: () => answered });
}

let work: string;
let homes = 0;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'dreamlake-upload-options-'));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** The CLI's environment: a fresh home, logged in by token, and whatever else a test adds. */
function env(extra: Record<string, string>): Record<string, string> {
  homes += 1;
  return { DREAMLAKE_HOME: join(work, `home${homes}`), DREAMLAKE_TOKEN: 't', NO_COLOR: '1', ...extra };
}

async function file(name: string, size: number): Promise<string> {
  const path = join(work, name);
  const data = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4096) data.writeUInt32LE(i, i);
  await writeFile(path, data);
  return path;
}

test('a bad --concurrency or --type is refused with one line and exit 2, before any request', async () => {
  const server = await olderServer();
  const bss = await legacyBss();
  try {
    const path = await file('refused.wav', 1024);
    const cases: Array<[string[], RegExp]> = [
      [['upload', path, '--to', 'ann/runs', '--concurrency', '0'], /^dreamlake: --concurrency must be .*1 to 64\n$/],
      [['upload', path, '--to', 'ann/runs', '--concurrency', 'abc'], /^dreamlake: --concurrency must be .*1 to 64\n$/],
      [['upload', path, '--to', 'ann/runs', '--concurrency', '65'], /^dreamlake: --concurrency must be .*1 to 64\n$/],
      [['upload', path, '--to', 'ann/runs', '--concurrency', '2.5'], /^dreamlake: --concurrency must be .*1 to 64\n$/],
      [['upload', path, '--to', 'ann/runs', '--concurrency', '0x10'], /^dreamlake: --concurrency must be .*1 to 64\n$/],
      [['upload', path, '--to', 'ann/runs', '--concurrency', '1e1'], /^dreamlake: --concurrency must be .*1 to 64\n$/],
      [['upload', path, '--to', 'ann/runs', '--concurrency', ''], /^dreamlake: --concurrency must be .*1 to 64\n$/],
      [['sync', work, 'ann/runs', '--concurrency', '0'], /^dreamlake: --concurrency must be .*1 to 64\n$/],
      [['sync', work, 'ann/runs', '--concurrency', 'abc'], /^dreamlake: --concurrency must be .*1 to 64\n$/],
      [
        ['upload', path, '--to', 'ann/runs', '--type', 'nonsense'],
        /^dreamlake: option '--type <type>' argument 'nonsense' is invalid\. Allowed choices are .*\bvideos\b.*\n$/,
      ],
    ];
    for (const [args, expected] of cases) {
      const f = fakeIo(env({ DREAMLAKE_SERVER: server.url, DREAMLAKE_BSS: bss.url }));
      assert.equal(await run(args, f.io), 2, args.join(' '));
      assert.match(f.stderr(), expected, args.join(' '));
      assert.equal(f.stderr().split('\n').length, 2, `one line: ${f.stderr()}`);
      assert.equal(f.stdout(), '');
    }
    assert.deepEqual(server.seen, [], 'nothing asked of the server');
    assert.deepEqual(bss.seen, [], 'nothing asked of BSS');
  } finally {
    server.close();
    bss.close();
  }
});

/** A server with lookups, batch grants and commits that already holds every blob it is asked to grant. */
async function currentServer() {
  return standIn((seen, _url, res) => {
    if (seen.method === 'POST' && seen.path === '/namespaces/ann/spaces/runs/files/lookup') {
      const { files } = seen.body as { files: unknown[] };
      return send(res, 200, { files: files.map(() => 'missing') });
    }
    if (seen.method === 'POST' && seen.path === '/uploads/batch') {
      const { files } = seen.body as { files: Array<{ filename: string; hash: string; size: number; type: string }> };
      return send(res, 200, {
        files: files.map((f, index) => ({
          index,
          exists: true,
          file: { namespace: 'ann', space: 'runs', name: f.filename, hash: f.hash, size: f.size, type: f.type },
        })),
      });
    }
    if (seen.method === 'POST' && seen.path === '/namespaces/ann/spaces/runs/commits')
      return send(res, 200, { created: false, snapshot: null });
    return noRoute(res, seen);
  });
}

test('--type decides the asset type the grant asks for and the snapshot names, whatever the extension', async () => {
  const path = await file('take.wav', 2048);
  for (const [flags, type] of [
    [[], 'audio'],
    [['--type', 'videos'], 'videos'],
  ] as const) {
    const server = await currentServer();
    try {
      const f = fakeIo(env({ DREAMLAKE_SERVER: server.url }));
      const code = await run(['upload', path, '--to', 'ann/runs', '--json', ...flags], f.io);
      assert.equal(code, 0, f.stderr());
      const grant = server.seen.find((s) => s.path === '/uploads/batch')?.body as { files: Array<{ type: string }> };
      assert.deepEqual(
        grant.files.map((g) => g.type),
        [type],
        `grant asked for ${flags.join(' ') || 'no --type'}`,
      );
      const commit = server.seen.find((s) => s.path.endsWith('/commits'))?.body as {
        puts: Array<{ name: string; type: string }>;
      };
      assert.deepEqual(
        commit.puts.map((p) => [p.name, p.type]),
        [['take.wav', type]],
      );
      const line = JSON.parse(f.stdout().split('\n')[0] ?? '') as { name: string; type: string };
      assert.equal(line.type, type);
    } finally {
      server.close();
    }
  }
});

test('DREAMLAKE_BSS is the BSS the legacy flow sends to, under the path --type names; --bss wins over it', async () => {
  const path = await file('take.wav', 3000);
  const server = await olderServer();
  const fromEnv = await legacyBss();
  const fromFlag = await legacyBss();
  const legacySteps = (type: string) => [
    `POST /${type}/upload/multipart/init`,
    `POST /${type}/upload/multipart/parts`,
    'PUT /upload/part',
    `POST /${type}/upload/multipart/complete`,
  ];
  const steps = (bss: StandIn) => bss.seen.map((s) => `${s.method} ${s.path}`);
  try {
    const viaEnv = fakeIo(env({ DREAMLAKE_SERVER: server.url, DREAMLAKE_BSS: fromEnv.url }));
    assert.equal(
      await run(['upload', path, '--to', 'ann/runs', '--type', 'labels', '--json'], viaEnv.io),
      0,
      viaEnv.stderr(),
    );
    assert.match(viaEnv.stderr(), new RegExp(`unsigned legacy BSS flow at ${fromEnv.url}`));
    assert.deepEqual(steps(fromEnv), legacySteps('labels'));
    // The legacy scope: the namespace and space as BSS's owner and project.
    const init = fromEnv.seen[0]?.body as { owner?: string; project?: string } | undefined;
    assert.deepEqual([init?.owner, init?.project], ['ann', 'runs']);
    const line = JSON.parse(viaEnv.stdout().split('\n')[0] ?? '') as { type: string; legacy: boolean };
    assert.deepEqual([line.type, line.legacy], ['labels', true]);

    const viaFlag = fakeIo(env({ DREAMLAKE_SERVER: server.url, DREAMLAKE_BSS: fromEnv.url }));
    const code = await run(['upload', path, '--to', 'ann/runs', '--bss', fromFlag.url], viaFlag.io);
    assert.equal(code, 0, viaFlag.stderr());
    assert.deepEqual(steps(fromFlag), legacySteps('audio'), 'the flag wins, and the extension decides without --type');
    assert.equal(fromEnv.seen.length, 4, 'nothing more went to the BSS the environment names');

    // An empty DREAMLAKE_BSS is no BSS: the missing route is the error, nothing falls back.
    const empty = fakeIo(env({ DREAMLAKE_SERVER: server.url, DREAMLAKE_BSS: '' }));
    assert.equal(await run(['upload', path, '--to', 'ann/runs'], empty.io), 1);
    assert.match(empty.stderr(), /no route for POST \/uploads\/init/);
  } finally {
    server.close();
    fromEnv.close();
    fromFlag.close();
  }
});

/**
 * Holds every part PUT until `width` have arrived (or the last part has): a pool narrower than
 * `width` never gets past the first hold. Counts, at each arrival, the part PUTs the CLI has
 * created (undici's `request:create`, published as the request is made, in this process) less
 * those BSS has answered: at least the CLI's part requests in flight at that moment.
 */
function widthGate(width: number, parts: number) {
  let held: Array<() => void> = [];
  let arrived = 0;
  let created = 0;
  const inFlight: number[] = [];
  const batches: number[] = [];
  const onCreate = (message: unknown): void => {
    const { request } = message as { request: { method: string; path: string } };
    if (request.method === 'PUT' && request.path.startsWith('/upload/part')) created += 1;
  };
  diagnostics.subscribe('undici:request:create', onCreate);
  return {
    batches,
    inFlight,
    stop: () => diagnostics.unsubscribe('undici:request:create', onCreate),
    gate(answered: () => number): () => Promise<void> {
      return () =>
        new Promise<void>((resolve) => {
          arrived += 1;
          inFlight.push(created - answered());
          held.push(resolve);
          if (held.length >= width || arrived === parts) {
            batches.push(held.length);
            for (const release of held) release();
            held = [];
          }
        });
    },
  };
}

test('--concurrency N puts N parts in flight at once, never more', { timeout: 120_000 }, async () => {
  // Six parts of 5 MiB (the last one byte).
  const path = await file('wide.bin', 25 * MIB + 1);
  for (const [width, batches] of [
    [2, [2, 2, 2]],
    [3, [3, 3]],
  ] as const) {
    const gate = widthGate(width, 6);
    let answered = () => 0;
    const server = await olderServer();
    const bss = await legacyBss(() => gate.gate(answered)());
    answered = bss.answered;
    try {
      const f = fakeIo(env({ DREAMLAKE_SERVER: server.url, DREAMLAKE_BSS: bss.url }));
      const code = await run(['upload', path, '--to', 'ann/runs', '--concurrency', String(width)], f.io);
      assert.equal(code, 0, f.stderr());
      assert.deepEqual([...bss.parts].sort(), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(gate.batches, batches, `--concurrency ${width}`);
      assert.equal(Math.max(...gate.inFlight), width, `part PUTs in flight at once: ${gate.inFlight}`);
    } finally {
      gate.stop();
      server.close();
      bss.close();
    }
  }
});

/**
 * The download engine as a library: an AbortSignal stops it part-way, leaving the ranges written
 * for the next run, which asks only for the rest. A stand-in server on port 0 serves the ranges,
 * holding back every range past the second until told to answer.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DownloadClient, type FileOutcome } from '../src/download/index.ts';

const MIB = 1024 * 1024;

test('an aborted download rejects with the signal’s reason, keeps its written ranges, and the next run fetches only the others', async () => {
  const work = await mkdtemp(join(tmpdir(), 'dreamlake-download-abort-'));
  const bytes = Buffer.alloc(40 * MIB);
  for (let i = 0; i + 4 <= bytes.length; i += 4) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
  const hash = createHash('sha256').update(bytes).digest('hex');
  let holdFrom = 16 * MIB;
  const held: ServerResponse[] = [];
  const ranges: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/namespaces/ann/spaces/runs/files/download') {
      res.setHeader('content-type', 'application/json');
      const grant = { url: `${base}/blob`, name: 'big.bin', hash, size: bytes.length, contentType: 'x/y' };
      res.end(JSON.stringify(grant));
      return;
    }
    const [, first = '0', last = ''] = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '') ?? [];
    const start = Number(first);
    const end = last === '' ? bytes.length : Number(last) + 1;
    ranges.push(req.headers.range ?? '');
    if (start >= holdFrom) {
      held.push(res);
      return;
    }
    res.statusCode = 206;
    res.setHeader('content-range', `bytes ${start}-${end - 1}/${bytes.length}`);
    res.end(bytes.subarray(start, end));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const target = join(work, 'big.bin');
  const fetchOnce = async (signal?: AbortSignal, onBytes?: (total: number) => void) => {
    const client = new DownloadClient({
      server: base,
      token: 't',
      home: join(work, 'home'),
      ...(signal ? { signal } : {}),
    });
    try {
      const remote = await client.resolve('ann', 'runs', 'big.bin');
      assert.equal(remote.kind, 'file');
      if (remote.kind !== 'file') return [];
      let total = 0;
      const item = { ...remote.grant, relative: 'big.bin', target };
      return await client.fetch(
        { namespace: 'ann', space: 'runs' },
        [item],
        { root: work, force: false },
        {
          bytes: (_name, n) => {
            total += n;
            onBytes?.(total);
          },
        },
      );
    } finally {
      await client.close();
    }
  };
  try {
    const controller = new AbortController();
    const reason = new Error('stopped by the caller');
    await assert.rejects(
      fetchOnce(controller.signal, (total) => {
        if (total >= 16 * MIB) setImmediate(() => controller.abort(reason));
      }),
      (error) => error === reason,
    );
    for (const res of held) res.destroy();
    const left = (await readdir(work)).filter((n) => n.startsWith('big.bin')).sort();
    assert.deepEqual(left, [`big.bin.${hash.slice(0, 12)}.partial`, `big.bin.${hash.slice(0, 12)}.partial.json`]);
    const state = JSON.parse(await readFile(join(work, left[1] as string), 'utf8')) as { done: number[] };
    assert.deepEqual(state.done, [0, 1]);

    holdFrom = Number.POSITIVE_INFINITY;
    ranges.length = 0;
    const [outcome] = (await fetchOnce()) as FileOutcome[];
    assert.equal(outcome?.status, 'downloaded');
    assert.equal(outcome?.status === 'downloaded' && outcome.resumedBytes, 16 * MIB);
    assert.ok(!ranges.some((r) => r.startsWith('bytes=0-') || r.startsWith(`bytes=${8 * MIB}-`)), ranges.join(' '));
    assert.ok((await readFile(target)).equals(bytes));
    assert.deepEqual(
      (await readdir(work)).filter((n) => n.startsWith('big.bin')),
      ['big.bin'],
    );
  } finally {
    server.closeAllConnections();
    server.close();
    await rm(work, { recursive: true, force: true });
  }
});

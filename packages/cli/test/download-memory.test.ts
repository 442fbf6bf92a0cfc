/**
 * What a large download holds in memory: the buffers of the bytes received (socket reads waiting
 * for the disk, and the dead ones waiting for a collection) stay a few MiB, whatever the file's
 * size. The download runs in a child process, so that only its own buffers are counted; a
 * stand-in server in this process serves the ranges.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const MIB = 1024 * 1024;
const SIZE = 256 * MIB;

/**
 * Downloads big.bin with the library and prints the outcome and the most memory held in
 * ArrayBuffers past what the process held once connected, read at every chunk received.
 */
const CHILD = `
import { DownloadClient } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../src/download/index.ts')).href)};
const [base, work] = process.argv.slice(1);
const client = new DownloadClient({ server: base, token: 't', home: work + '/home' });
const remote = await client.resolve('ann', 'runs', 'big.bin');
const before = process.memoryUsage().arrayBuffers;
let most = 0;
const [outcome] = await client.fetch(
  { namespace: 'ann', space: 'runs' },
  [{ ...remote.grant, relative: 'big.bin', target: work + '/big.bin' }],
  { root: work, force: false },
  { bytes: () => { most = Math.max(most, process.memoryUsage().arrayBuffers - before); } },
);
await client.close();
console.log(JSON.stringify({ status: outcome.status, error: outcome.error, heldMiB: most / 1048576 }));
`;

test('a 256 MiB download holds no more than about 20 MiB of received bytes in memory at any moment', async () => {
  const work = await mkdtemp(join(tmpdir(), 'dreamlake-download-memory-'));
  // One MiB of varied bytes, repeated: the file is never held whole on either side.
  const pattern = Buffer.alloc(MIB);
  for (let i = 0; i + 4 <= MIB; i += 4) pattern.writeUInt32LE((i * 2654435761) >>> 0, i);
  const sha = createHash('sha256');
  for (let i = 0; i < SIZE / MIB; i += 1) sha.update(pattern);
  const hash = sha.digest('hex');
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/namespaces/ann/spaces/runs/files/download') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: `${base}/blob`, name: 'big.bin', hash, size: SIZE, contentType: 'x/y' }));
      return;
    }
    const [, first = '0', last = ''] = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '') ?? [];
    const start = Number(first);
    const end = last === '' ? SIZE : Number(last) + 1;
    res.statusCode = 206;
    res.setHeader('content-range', `bytes ${start}-${end - 1}/${SIZE}`);
    res.setHeader('content-length', String(end - start));
    let at = start;
    const more = (): void => {
      while (at < end) {
        const piece = pattern.subarray(at % MIB, Math.min(MIB, (at % MIB) + end - at));
        at += piece.length;
        if (!res.write(piece)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', CHILD, base, work],
      { cwd: join(import.meta.dirname, '..') },
    );
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
    assert.equal(result.status, 'downloaded', result.error);
    assert.ok(result.heldMiB < 20, `${result.heldMiB.toFixed(1)} MiB held in buffers`);
  } finally {
    server.close();
    await rm(work, { recursive: true, force: true });
  }
});

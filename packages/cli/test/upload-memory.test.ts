/**
 * What a large upload holds in memory: the buffers of the parts' bytes (file reads on their way to
 * the socket, and the dead ones waiting for a collection) stay a few MiB, whatever the file's
 * size. The upload runs in a child process, so that only its own buffers are counted; a stand-in
 * for the server and BSS in this process takes the parts and checks each one's CRC-32.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { crc32Base64 } from '@dreamlake/protocol';

const MIB = 1024 * 1024;
const SIZE = 256 * MIB;

const src = (path: string): string => JSON.stringify(pathToFileURL(join(import.meta.dirname, '../src', path)).href);

/**
 * Uploads big.bin with the library, 4 parts at a time, and prints the outcome and the most memory
 * held in ArrayBuffers past what the process held once the file was hashed, read at every chunk
 * sent.
 */
const CHILD = `
import { ServerApi } from ${src('api.ts')};
import { createAgent } from ${src('http.ts')};
import { uploadFile } from ${src('upload/uploader.ts')};
const [base, work, size] = process.argv.slice(1);
const agent = createAgent(8);
let before;
let most = 0;
const events = {
  hashed() {},
  resumed() {},
  note() {},
  phase(_name, phase) {
    if (phase === 'uploading') before = process.memoryUsage().arrayBuffers;
  },
  sent() {
    if (before !== undefined) most = Math.max(most, process.memoryUsage().arrayBuffers - before);
  },
};
try {
  const result = await uploadFile(
    { api: new ServerApi(base, agent, 't'), dispatcher: agent, home: work + '/home', bss: undefined, concurrency: 4,
      retry: { attempts: 1, baseDelayMs: 5, maxDelayMs: 5 }, events },
    { path: work + '/big.bin', name: 'big.bin', size: Number(size) },
    { namespace: 'ann', space: 'runs' },
  );
  console.log(JSON.stringify({ partsSent: result.partsSent, partsTotal: result.partsTotal, heldMiB: most / 1048576 }));
} finally {
  await agent.close();
}
`;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function text(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

test('a 256 MiB upload holds no more than about 20 MiB of its parts in memory at any moment', {
  timeout: 300_000,
}, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'dreamlake-upload-memory-'));
  // One MiB of varied bytes, repeated.
  const pattern = Buffer.alloc(MIB);
  for (let i = 0; i + 4 <= MIB; i += 4) pattern.writeUInt32LE((i * 2654435761) >>> 0, i);
  await writeFile(
    join(work, 'big.bin'),
    (function* () {
      for (let i = 0; i < SIZE / MIB; i += 1) yield pattern;
    })(),
  );
  const checks = new Map<number, string>();
  const received = new Map<number, number>();
  let completed = false;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', base);
    const path = url.pathname;
    if (path === '/uploads/init') {
      const u = (step: string) => `${base}/multipart/${step}`;
      return send(res, 200, {
        initUrl: u('init'),
        partsUrl: u('parts'),
        partsDoneUrl: u('parts-done'),
        completeUrl: u('complete'),
        abortUrl: u('abort'),
      });
    }
    if (path === '/multipart/init') return send(res, 200, { uploadId: 'up1', key: 'k1', partCheck: 'crc32' });
    if (path === '/multipart/parts') {
      const { partNumbers, checksumCrc32 } = JSON.parse(await text(req)) as {
        partNumbers: number[];
        checksumCrc32: Record<string, string>;
      };
      for (const n of partNumbers) checks.set(n, checksumCrc32[String(n)] ?? '');
      return send(res, 200, {
        parts: Object.fromEntries(partNumbers.map((n) => [String(n), `${base}/part?n=${n}`])),
      });
    }
    if (path === '/part') {
      const n = Number(url.searchParams.get('n'));
      let crc = 0;
      let bytes = 0;
      for await (const chunk of req) {
        crc = crc32(chunk as Buffer, crc);
        bytes += (chunk as Buffer).length;
      }
      if (crc32Base64(crc) !== checks.get(n))
        return send(res, 400, { error: { code: 'invalid_part', message: 'CRC' } });
      received.set(n, bytes);
      res.writeHead(200, { etag: `"${n}"` });
      return res.end();
    }
    if (path === '/multipart/complete') {
      completed = true;
      return send(res, 200, { success: true });
    }
    await text(req);
    if (path.endsWith('/files')) return send(res, 201, { file: {} });
    return send(res, 404, { error: { code: 'not_found', message: `no route for ${path}` } });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', CHILD, base, work, String(SIZE)],
      { cwd: join(import.meta.dirname, '..') },
    );
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
    assert.equal(result.partsSent, result.partsTotal);
    assert.ok(completed);
    assert.equal(
      [...received.values()].reduce((a, b) => a + b, 0),
      SIZE,
    );
    t.diagnostic(`${result.heldMiB.toFixed(1)} MiB held in buffers at most`);
    assert.ok(result.heldMiB < 20, `${result.heldMiB.toFixed(1)} MiB held in buffers`);
  } finally {
    server.closeAllConnections();
    server.close();
    await rm(work, { recursive: true, force: true });
  }
});

/**
 * Which per-part check the CLI sends: the one BSS's init answer names (CRC-32 on the disk
 * backend, MD5 on S3 and on BSSs that name none), against a small stand-in for the server and BSS.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { CRC32_HEADER, crc32Base64, crc32Etag, type PartCheck } from '@dreamlake/protocol';
import { ServerApi } from '../src/api.ts';
import { createAgent } from '../src/http.ts';
import { type UploadEvents, uploadFile } from '../src/upload/uploader.ts';

const MIB = 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Seen {
  /** The check map each parts request carried, by its field name. */
  partsRequests: Array<{ contentMd5?: Record<string, string>; checksumCrc32?: Record<string, string> }>;
  /** Per part PUT: the headers that carry a check. */
  puts: Array<{ n: number; md5?: string; crc32?: string }>;
  refused: number;
}

/** Server and BSS in one: BSS answers `partCheck` (or none) and refuses a part whose check is wrong. */
async function fakeServices(partCheck: PartCheck | undefined) {
  const seen: Seen = { partsRequests: [], puts: [], refused: 0 };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = await readBody(req);
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
    };
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    if (url.pathname === '/uploads/init') {
      const u = (step: string) => `${base}/videos/upload/multipart/${step}`;
      return json(200, {
        initUrl: u('init'),
        partsUrl: u('parts'),
        partsDoneUrl: u('parts-done'),
        completeUrl: u('complete'),
        abortUrl: u('abort'),
      });
    }
    if (url.pathname === '/videos/upload/multipart/init')
      return json(200, { uploadId: 'up1', key: 'k1', ...(partCheck ? { partCheck } : {}) });
    if (url.pathname === '/videos/upload/multipart/parts') {
      const request = JSON.parse(body.toString()) as Seen['partsRequests'][number] & { partNumbers: number[] };
      seen.partsRequests.push({ contentMd5: request.contentMd5, checksumCrc32: request.checksumCrc32 });
      return json(200, {
        parts: Object.fromEntries(request.partNumbers.map((n) => [String(n), `${base}/upload/part?n=${n}`])),
      });
    }
    if (url.pathname === '/upload/part') {
      const n = Number(url.searchParams.get('n'));
      const md5 = req.headers['content-md5'] as string | undefined;
      const crc = req.headers[CRC32_HEADER] as string | undefined;
      seen.puts.push({ n, md5, crc32: crc });
      const actualMd5 = createHash('md5').update(body).digest();
      const actualCrc = crc32Base64(crc32(body));
      if ((md5 !== undefined && md5 !== actualMd5.toString('base64')) || (crc !== undefined && crc !== actualCrc)) {
        seen.refused += 1;
        return json(400, { error: { code: 'invalid_part', message: 'the part body does not match its check' } });
      }
      res.writeHead(200, { etag: `"${md5 || !crc ? actualMd5.toString('hex') : crc32Etag(actualCrc, body.length)}"` });
      return res.end();
    }
    if (url.pathname === '/videos/upload/multipart/complete') return json(200, { success: true });
    if (url.pathname.endsWith('/files')) return json(201, { file: {} });
    return json(404, { error: { code: 'not_found', message: url.pathname } });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const close = () => {
    server.closeAllConnections();
    server.close();
  };
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen, close };
}

const quiet: UploadEvents = { hashed() {}, sent() {}, resumed() {}, phase() {}, note() {} };

async function upload(partCheck: PartCheck | undefined, size: number) {
  const fake = await fakeServices(partCheck);
  const dir = await mkdtemp(join(tmpdir(), 'dreamlake-part-checks-'));
  const agent = createAgent(6);
  try {
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) data.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, i);
    const path = join(dir, 'clip.mp4');
    await writeFile(path, data);
    const result = await uploadFile(
      {
        api: new ServerApi(fake.url, agent, 'token'),
        dispatcher: agent,
        home: join(dir, 'home'),
        bss: undefined,
        concurrency: 3,
        retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
        events: quiet,
      },
      { path, name: 'clip.mp4', size },
      { namespace: 'ann', space: 'runs' },
    );
    return { result, seen: fake.seen };
  } finally {
    await agent.close();
    fake.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('a BSS that asks for CRC-32 gets each part bound to its CRC-32 and no MD5', async () => {
  const { result, seen } = await upload('crc32', 12 * MIB);
  assert.equal(result.partsSent, 3);
  assert.equal(seen.refused, 0, 'every part carried its own CRC-32');
  assert.deepEqual(
    seen.puts.map((p) => [p.md5, typeof p.crc32]),
    [
      [undefined, 'string'],
      [undefined, 'string'],
      [undefined, 'string'],
    ],
  );
  assert.ok(seen.partsRequests.every((r) => r.contentMd5 === undefined && r.checksumCrc32 !== undefined));
});

test('a BSS that asks for MD5, or names no check (an older one), gets each part bound to its MD5', async () => {
  for (const check of ['md5', undefined] as const) {
    const { result, seen } = await upload(check, 12 * MIB);
    assert.equal(result.partsSent, 3);
    assert.equal(seen.refused, 0, 'every part carried its own MD5');
    assert.ok(seen.puts.every((p) => typeof p.md5 === 'string' && p.crc32 === undefined));
    assert.ok(seen.partsRequests.every((r) => r.contentMd5 !== undefined && r.checksumCrc32 === undefined));
  }
});

/**
 * The CLI against servers it cannot fully trust: an older server without `/uploads/init` (the
 * legacy unsigned BSS flow, BSS running with REQUIRE_PRESIGNED_UPLOADS=false), and a server
 * whose download does not match the hash it announced.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { access, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  backends,
  cliEnv,
  jsonLines,
  MIB,
  makeFile,
  runCli,
  Services,
  sha256File,
  tempDir,
} from '../../../../test/e2e/harness.ts';

type Handler = (method: string, url: URL, body: string) => { status: number; json?: unknown; bytes?: Buffer };

async function standIn(handler: Handler): Promise<{ url: string; server: Server; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push(`${req.method} ${url.pathname}`);
      const answer = handler(req.method ?? 'GET', url, Buffer.concat(chunks).toString());
      res.statusCode = answer.status;
      if (answer.bytes) res.end(answer.bytes);
      else {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(answer.json ?? {}));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, server, seen };
}

const notFound = (path: string) => ({
  status: 404,
  json: { error: { code: 'not_found', message: `no route for ${path}` } },
});

describe('an older server without /uploads/init', () => {
  let services: Services;
  let old: Awaited<ReturnType<typeof standIn>>;
  let work: string;

  before(async () => {
    services = await Services.start({ backend: backends()[0]!, requirePresignedUploads: false, bssOnly: true });
    old = await standIn((method, url) => {
      if (method === 'POST' && url.pathname === '/auth/login') return { status: 200, json: { token: 'old-token' } };
      return notFound(`${method} ${url.pathname}`);
    });
    work = await tempDir('dreamlake-legacy-');
  });
  after(async () => {
    old?.server.close();
    await services?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('upload says so and uses the unsigned legacy BSS flow when a BSS URL is configured', async () => {
    const env = cliEnv(join(work, 'home'));
    const login = await runCli(
      ['login', '--server', old.url, '--username', 'legacy', '--password-stdin', '--bss', services.bssUrl],
      env,
      'pw\n',
    );
    assert.equal(login.code, 0, login.stderr);
    const path = join(work, 'take1.wav');
    await makeFile(path, 11 * MIB, 3);
    const up = await runCli(['upload', path, '--to', 'legacy/studio', '--json'], env);
    assert.equal(up.code, 0, up.stderr + services.logs());
    assert.match(up.stderr, /unsigned legacy BSS flow/);
    const [line] = jsonLines<{ hash: string; partsSent: number; partsTotal: number; legacy: boolean; type: string }>(
      up.stdout,
    );
    assert.equal(line?.hash, await sha256File(path));
    assert.equal(line?.type, 'audio');
    assert.equal(line?.partsSent, 3);
    assert.equal(line?.legacy, true);
    assert.ok(!old.seen.some((s) => /^POST .*\/files(\/batch)?$/.test(s)), 'nothing registered on the old server');
  });

  test('without a BSS URL the missing route is an error, not a silent fallback', async () => {
    const env = cliEnv(join(work, 'home2'), { DREAMLAKE_SERVER: old.url, DREAMLAKE_TOKEN: 'old-token' });
    const path = join(work, 'take2.bin');
    await makeFile(path, MIB, 4);
    const up = await runCli(['upload', path, '--to', 'legacy/studio'], env);
    assert.equal(up.code, 1);
    assert.match(up.stderr, /not_found: no route for POST \/uploads\/init \(HTTP 404\)/);
  });
});

describe('a download that does not match its hash', () => {
  let fake: Awaited<ReturnType<typeof standIn>>;
  let work: string;
  const bytes = Buffer.from('these are not the bytes you are looking for\n'.repeat(1000));

  before(async () => {
    work = await tempDir('dreamlake-mismatch-');
    fake = await standIn((_method, url) => {
      if (url.pathname === '/namespaces/ann/spaces/runs/files/download') {
        const good = url.searchParams.get('name') === 'good.bin';
        const hash = good ? createHash('sha256').update(bytes).digest('hex') : 'f'.repeat(64);
        return {
          status: 200,
          json: {
            url: `${fake.url}/blob`,
            name: url.searchParams.get('name'),
            hash,
            size: bytes.length,
            contentType: 'application/octet-stream',
          },
        };
      }
      if (url.pathname === '/blob') return { status: 200, bytes };
      return notFound(url.pathname);
    });
  });
  after(async () => {
    fake?.server.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('deletes the partial file and exits 1; a matching one is kept', async () => {
    const env = cliEnv(join(work, 'home'), { DREAMLAKE_SERVER: fake.url, DREAMLAKE_TOKEN: 't' });
    const target = join(work, 'out', 'bad.bin');
    const bad = await runCli(['download', 'ann/runs/bad.bin', '-o', target], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^dreamlake: SHA-256 mismatch for bad\.bin: expected f{64}, received [0-9a-f]{64}/);
    await assert.rejects(access(target));
    assert.deepEqual(await readdir(join(work, 'out')), [], 'no partial file left');

    const good = await runCli(['download', 'ann/runs/good.bin', '-o', join(work, 'out', 'good.bin')], env);
    assert.equal(good.code, 0, good.stderr);
    assert.deepEqual(await readdir(join(work, 'out')), ['good.bin']);
  });
});

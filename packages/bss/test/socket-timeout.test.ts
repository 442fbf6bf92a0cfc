import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { buildBssApp } from '../src/app.ts';
import { createS3Storage } from '../src/storage/s3/index.ts';
import { makeApp, pathOf, sendParts, sha256, singlePath, tempDir, testConfig, uploadPaths } from './helpers.ts';
import { createTestBucket, readS3TestConfig, S3_SKIP_REASON, s3EnvVars } from './storage-s3-env.ts';

const s3 = readS3TestConfig();

/**
 * A complete lifts the idle-connection limit while it verifies. Proof that the lift ends with
 * the answer: the next request on the same keep-alive connection, a part PUT whose body stalls,
 * is still cut off by the idle limit.
 */

function send(
  agent: Agent,
  port: number,
  method: string,
  path: string,
  body: Buffer | string,
): Promise<{ status: number; text: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method,
      path,
      agent,
      headers: { 'content-type': 'application/json' },
    });
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, reused: req.reusedSocket }));
    });
    req.end(body);
  });
}

/** Sends the head and one byte of a longer body, then nothing: answers how the connection ended, or null after `giveUpMs`. */
function stall(
  agent: Agent,
  port: number,
  path: string,
  giveUpMs: number,
  method = 'PUT',
  contentType = 'application/octet-stream',
): Promise<{ reused: boolean } | null> {
  return new Promise((resolve) => {
    const req: ClientRequest = httpRequest({
      host: '127.0.0.1',
      port,
      method,
      path,
      agent,
      headers: { 'content-type': contentType, 'content-length': '1000' },
    });
    const giveUp = setTimeout(() => {
      req.destroy();
      resolve(null);
    }, giveUpMs);
    const ended = () => {
      clearTimeout(giveUp);
      resolve({ reused: req.reusedSocket });
    };
    req.on('error', ended);
    req.on('response', (res) => {
      res.resume();
      res.on('close', ended);
    });
    req.write('x');
  });
}

test('after a complete, a stalled request on the same keep-alive connection is cut off by the idle limit', async (t) => {
  const bss = await makeApp({
    IDLE_TIMEOUT_SECONDS: '1',
    REQUEST_TIMEOUT_SECONDS: '0',
    KEEP_ALIVE_TIMEOUT_SECONDS: '30',
  });
  t.after(() => bss.close());
  await bss.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = bss.app.server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());

  const data = randomBytes(1000);
  const paths = uploadPaths('files', { owner: 'alice', project: 'robotics', hash: sha256(data) });
  const sent = await sendParts(bss.app, paths, data, 'text/plain');
  // A second upload whose part URL the stalled PUT uses.
  const other = randomBytes(1000);
  const otherPaths = uploadPaths('files', { owner: 'alice', project: 'robotics', hash: sha256(other) });
  const init = await bss.app.inject({ method: 'POST', url: otherPaths.init, payload: { contentType: 'text/plain' } });
  const { uploadId, key } = init.json() as { uploadId: string; key: string };
  const urls = await bss.app.inject({
    method: 'POST',
    url: otherPaths.parts,
    payload: { uploadId, key, partNumbers: [1] },
  });
  const partPath = pathOf(urls.json().parts['1']);

  const warm = await send(agent, port, 'GET', '/healthz', '');
  assert.equal(warm.status, 200);
  const complete = await send(
    agent,
    port,
    'POST',
    paths.complete,
    JSON.stringify({ uploadId: sent.uploadId, key: sent.key, parts: sent.etags }),
  );
  assert.equal(complete.status, 200, complete.text);
  assert.equal(JSON.parse(complete.text).hash, sha256(data));
  assert.ok(complete.reused, 'the complete went over the warm connection');

  const cut = await stall(agent, port, partPath, 10_000);
  assert.ok(cut, 'a stalled part PUT after a complete on the same connection was still open after 10 s');
  assert.ok(cut.reused, 'the stalled PUT went over the connection the complete used');
});

test('after a single-shot complete (S3), a stalled request on the same keep-alive connection is cut off by the idle limit', {
  skip: s3 ? false : S3_SKIP_REASON,
}, async (t) => {
  const bucket = await createTestBucket(s3!);
  // Every body staged in the bucket, so the small file below goes through complete.
  const storage = await createS3Storage(bucket.config, { memoryReceiveLimit: 0 });
  const temp = await tempDir();
  const env = { ...s3EnvVars(bucket.config), IDLE_TIMEOUT_SECONDS: '1', REQUEST_TIMEOUT_SECONDS: '0' };
  const app = await buildBssApp({
    config: testConfig(temp.dir, { ...env, KEEP_ALIVE_TIMEOUT_SECONDS: '30' }),
    storage,
  });
  t.after(async () => {
    await app.close();
    await storage.close();
    await bucket.destroy();
    await temp.remove();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());

  const data = randomBytes(2000);
  const scope = { owner: 'alice', project: 'robotics', hash: sha256(data), size: data.length };
  const path = singlePath('files', scope);
  const staged = await send(agent, port, 'POST', path, JSON.stringify({ contentType: 'text/plain' }));
  assert.equal(staged.status, 200, staged.text);
  const { url, headers, key } = JSON.parse(staged.text) as {
    url: string;
    headers: Record<string, string>;
    key: string;
  };
  const put = await fetch(url, { method: 'PUT', body: new Uint8Array(data), headers });
  assert.equal(put.status, 200);
  const complete = await send(
    agent,
    port,
    'POST',
    path.replace('/upload/single?', '/upload/single/complete?'),
    JSON.stringify({ key }),
  );
  assert.equal(complete.status, 200, complete.text);
  assert.ok(complete.reused, 'the complete went over the connection of the first request');

  // Any request whose body stalls: here an init whose JSON never arrives.
  const initPath = uploadPaths('files', { owner: 'alice', project: 'robotics', hash: sha256(randomBytes(4)) }).init;
  const cut = await stall(agent, port, initPath, 10_000, 'POST', 'application/json');
  assert.ok(cut, 'a stalled request after a single-shot complete on the same connection was still open after 10 s');
  assert.ok(cut.reused, 'the stalled request went over the connection the complete used');
});

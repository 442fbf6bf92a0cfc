import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  httpPut,
  MiB,
  makeApp,
  sendParts,
  sha256,
  singlePath,
  stagedFiles,
  type TestApp,
  uploadPaths,
} from './helpers.ts';

const owner = 'frank';
const project = 'sound';

async function listening(t: { after(fn: () => Promise<void>): void }): Promise<{ bss: TestApp; base: string }> {
  const bss = await makeApp();
  t.after(() => bss.close());
  const base = await bss.app.listen({ host: '127.0.0.1', port: 0 });
  return { bss, base };
}

async function openSocket(base: string): Promise<Socket> {
  const { port } = new URL(base);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return socket;
}

/** Everything the server sends until it closes the connection. */
function answerUntilClose(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
  });
}

test('a chunked body is cut off with 413 as soon as it passes the signed size, and the connection closed', async (t) => {
  const { bss, base } = await listening(t);
  const data = randomBytes(64 * 1024);
  const url = singlePath('audio', { owner, project, hash: sha256(data), size: data.length });
  const socket = await openSocket(base);
  const answer = answerUntilClose(socket);
  socket.write(
    `PUT ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\nTransfer-Encoding: chunked\r\n\r\n`,
  );
  const chunk = (bytes: Buffer) =>
    socket.write(`${bytes.length.toString(16)}\r\n${bytes.toString('latin1')}\r\n`, 'latin1');
  chunk(data);
  chunk(randomBytes(1024));
  // The body never ends: the answer must come anyway, and the server must hang up.
  const text = await answer;
  assert.match(text, /^HTTP\/1\.1 413 /);
  assert.match(text, /"too_large"/);
  assert.match(text.toLowerCase(), /connection: close/);
  assert.deepEqual(await stagedFiles(bss.dir), []);
  assert.equal(await bss.storage.stat({ owner, project, hash: sha256(data) }), null);
});

test('a connection cut in the middle of a body leaves nothing', async (t) => {
  const { bss, base } = await listening(t);
  const data = randomBytes(4 * MiB);
  const url = singlePath('audio', { owner, project, hash: sha256(data), size: data.length });
  const socket = await openSocket(base);
  socket.on('error', () => undefined);
  socket.write(
    `PUT ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\nContent-Length: ${data.length}\r\n\r\n`,
  );
  socket.write(data.subarray(0, MiB));
  for (let i = 0; i < 50 && (await stagedFiles(bss.dir)).length === 0; i += 1)
    await new Promise((r) => setTimeout(r, 20));
  socket.destroy();
  let left = ['?'];
  for (let i = 0; i < 100 && left.length > 0; i += 1) {
    await new Promise((r) => setTimeout(r, 20));
    left = await stagedFiles(bss.dir);
  }
  assert.deepEqual(left, []);
  assert.equal(await bss.storage.stat({ owner, project, hash: sha256(data) }), null);
});

test('concurrent single-shot PUTs and a multipart complete of one blob all succeed, with one blob', async (t) => {
  const { bss, base } = await listening(t);
  const data = randomBytes(5 * MiB + 4321);
  const scope = { owner, project, hash: sha256(data) };
  const paths = uploadPaths('audio', scope);
  const sent = await sendParts(bss.app, paths, data, 'audio/wav');
  const url = `${base}${singlePath('audio', { ...scope, size: data.length })}`;
  const results = await Promise.all([
    ...Array.from({ length: 4 }, () => httpPut(url, data, { 'content-type': 'audio/wav' })),
    bss.app.inject({
      method: 'POST',
      url: paths.complete,
      payload: { uploadId: sent.uploadId, key: sent.key, parts: sent.etags },
    }),
  ]);
  for (const res of results) assert.equal('statusCode' in res ? res.statusCode : res.status, 200);
  assert.deepEqual(await bss.storage.stat(scope), { ...scope, size: data.length, contentType: 'audio/wav' });
  assert.deepEqual(await stagedFiles(bss.dir), []);
  assert.deepEqual(await readdir(join(bss.dir, 'bss', 'blobs', owner, project)), [scope.hash]);
});

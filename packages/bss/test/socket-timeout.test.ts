import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { makeApp, pathOf, sendParts, sha256, uploadPaths } from './helpers.ts';

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
function stall(agent: Agent, port: number, path: string, giveUpMs: number): Promise<{ reused: boolean } | null> {
  return new Promise((resolve) => {
    const req: ClientRequest = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path,
      agent,
      headers: { 'content-type': 'application/octet-stream', 'content-length': '1000' },
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

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../src/storage/s3/client.ts';

/** An endpoint that answers every HEAD as an object S3 holds, and counts the connections open to it. */
async function countingEndpoint(): Promise<{ server: Server; url: string; open: Set<Socket> }> {
  const open = new Set<Socket>();
  const server = createServer((req, res) => {
    // Held a moment, so the requests overlap and the pool opens several connections.
    setTimeout(() => {
      res.writeHead(200, { 'content-length': '0', etag: '"abc"', 'last-modified': new Date().toUTCString() });
      res.end();
    }, 50);
    req.resume();
  });
  server.keepAliveTimeout = 600_000;
  server.on('connection', (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, open };
}

async function until(condition: () => boolean, withinMs: number): Promise<boolean> {
  const end = Date.now() + withinMs;
  while (Date.now() < end) {
    if (condition()) return true;
    await sleep(50);
  }
  return condition();
}

test("BSS's pooled S3 connections close once idle, and the pool serves again after", async (t) => {
  const { server, url, open } = await countingEndpoint();
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const client = createS3Client(
    { endpoint: url, region: 'us-east-1', bucket: 'b', forcePathStyle: true, accessKeyId: 'a', secretAccessKey: 's' },
    undefined,
    500,
  );
  t.after(() => client.destroy());
  const heads = () =>
    Promise.all(
      Array.from({ length: 12 }, (_, i) => client.send(new HeadObjectCommand({ Bucket: 'b', Key: `k${i}` }))),
    );

  await heads();
  assert.ok(open.size >= 4, `requests at once opened ${open.size} pooled connections`);
  // The server never closes them (10 min keep-alive): only the client's idle limit can.
  assert.ok(await until(() => open.size === 0, 20_000), `${open.size} connections still open after 20 s idle`);

  await heads();
  assert.ok(open.size >= 1);
  assert.ok(await until(() => open.size === 0, 20_000), `${open.size} connections still open after 20 s idle`);
});

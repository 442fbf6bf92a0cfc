/**
 * A failure the server wraps into one of its own errors (BSS unreachable or answering garbage, the
 * database down) keeps the original as `cause`, for the log, and never sends it.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { DreamLakeError } from '@dreamlake/presign';
import { errorBody } from '@dreamlake/service';
import { createBssClient } from '../src/bss-client.ts';
import { translated } from '../src/db/connection.ts';

const blob = { owner: 'alice', project: 'robotics', hash: 'a'.repeat(64) };

/** A port nothing listens on (taken, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('a BSS that cannot be reached is 503 storage_unavailable with the network failure as its cause', async () => {
  const config = {
    bssInternalUrl: `http://127.0.0.1:${await closedPort()}`,
    presignSecrets: ['s'.repeat(32)],
    presignTtlSeconds: 600,
  };
  const bss = createBssClient(config);
  for (const ask of [() => bss.stat(blob), () => bss.deleteBlob(blob)]) {
    const error = await ask().then(
      () => assert.fail('BSS answered'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof DreamLakeError);
    assert.equal(error.code, 'storage_unavailable');
    assert.equal(error.status, 503);
    assert.ok(error.cause instanceof Error, 'the fetch failure is kept');
    assert.equal((error.cause as Error).name, 'TypeError');
    assert.equal(JSON.stringify(errorBody(error)).includes('cause'), false, 'the cause is not sent');
  }
});

test('a database that refuses connections is 503 unavailable with the driver error as its cause', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const error = translated(refused);
  assert.ok(error instanceof DreamLakeError);
  assert.equal(error.code, 'unavailable');
  assert.equal(error.status, 503);
  assert.equal(error.cause, refused);
  assert.equal(Object.keys(error).includes('cause'), false, 'the cause is not an enumerable field');
});

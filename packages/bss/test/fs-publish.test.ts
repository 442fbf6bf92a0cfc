import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { DirSyncer } from '../src/storage/fs/dir-sync.ts';
import { FsLayout } from '../src/storage/fs/layout.ts';
import { receiveSingle } from '../src/storage/fs/receive-single.ts';
import { sha256, tempDir } from './helpers.ts';

/** A flush that waits to be let go, so a test can see who shares which one. */
function controlledFlush() {
  const started: Array<{ dir: string; done: () => void }> = [];
  const flush = (dir: string) =>
    new Promise<void>((resolve) => {
      started.push({ dir, done: resolve });
    });
  return { started, flush };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('callers asking to flush a folder while a flush of it runs share the next one, which starts after theirs', async () => {
  const { started, flush } = controlledFlush();
  const syncer = new DirSyncer(flush);
  const order: string[] = [];
  const first = syncer.sync('/a').then(() => order.push('first'));
  await tick();
  assert.equal(started.length, 1);
  // Arrived while the first flush runs: it may have begun before their changes, so they wait for the next.
  const later = [1, 2, 3, 4].map((i) => syncer.sync('/a').then(() => order.push(`later${i}`)));
  await tick();
  assert.equal(started.length, 1, 'no second flush while the first runs');
  started[0]!.done();
  await first;
  await tick();
  assert.equal(started.length, 2, 'one flush for the four callers that waited');
  assert.deepEqual(order, ['first'], 'the waiting callers are not answered by the flush that began before them');
  started[1]!.done();
  await Promise.all(later);
  assert.deepEqual(order, ['first', 'later1', 'later2', 'later3', 'later4']);
});

test('flushes of different folders do not wait for each other', async () => {
  const { started, flush } = controlledFlush();
  const syncer = new DirSyncer(flush);
  const a = syncer.sync('/a');
  const b = syncer.sync('/b');
  await tick();
  assert.deepEqual(
    started.map((s) => s.dir),
    ['/a', '/b'],
  );
  started[1]!.done();
  await b;
  started[0]!.done();
  await a;
});

test('a single-shot blob is published even when its space folder was removed after an earlier publish', async (t) => {
  const temp = await tempDir('bss-publish-');
  t.after(() => temp.remove());
  const layout = new FsLayout(temp.dir);
  const send = async (body: Buffer) =>
    receiveSingle(
      layout,
      { owner: 'alice', project: 'p1', hash: sha256(body), size: body.length, contentType: 'application/octet-stream' },
      Readable.from([body]),
    );
  const one = randomBytes(1000);
  assert.equal((await send(one)).hash, sha256(one));
  // Emptied and removed (by an operator, or a collection of unreferenced blobs).
  await rm(join(temp.dir, 'blobs', 'alice', 'p1'), { recursive: true });
  await rm(join(temp.dir, 'tmp'), { recursive: true });
  const two = randomBytes(1000);
  const stored = await send(two);
  assert.equal(stored.hash, sha256(two));
  assert.equal(stored.size, 1000);
});

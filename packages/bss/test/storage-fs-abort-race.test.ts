/**
 * Abort and sweep racing a complete on the disk backend, with the race made to happen: one side is
 * held at a chosen step by a gate on the file-system call it makes there, the other side runs to
 * its end while it is held (asserted), then the held side goes on. Whatever the interleaving, the
 * blob is published whole (served as the verified bytes) or not at all, and a complete that loses
 * fails with not_found, never a raw file-system error.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { MIN_PART_SIZE } from '@dreamlake/protocol';

type Op = 'link' | 'rename' | 'rm';

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

interface Gate {
  op: Op;
  when: (path: string) => boolean;
  /** Resolved when the held side makes the gated call (it is then in flight, stopped there). */
  reached: Deferred;
  /** Lets the held call go on. */
  release: Deferred;
}

let armed: Gate | null = null;

/** Holds the next `op` call whose path `when` matches, until the gate is released. */
function hold(op: Op, when: (path: string) => boolean): Gate {
  const gate = { op, when, reached: deferred(), release: deferred() };
  armed = gate;
  return gate;
}

async function pass(op: Op, path: unknown): Promise<void> {
  const gate = armed;
  if (!gate || gate.op !== op || !gate.when(String(path))) return;
  armed = null;
  gate.reached.resolve();
  await gate.release.promise;
}

const { link, rename, rm } = fsp;
fsp.link = (async (...args: Parameters<typeof link>) => {
  await pass('link', args[1]);
  return link(...args);
}) as typeof link;
fsp.rename = (async (...args: Parameters<typeof rename>) => {
  await pass('rename', args[1]);
  return rename(...args);
}) as typeof rename;
fsp.rm = (async (...args: Parameters<typeof rm>) => {
  await pass('rm', args[0]);
  return rm(...args);
}) as typeof rm;
syncBuiltinESMExports();

// Loaded after the patch, so the storage's file-system calls pass the gates.
const { DreamLakeError } = await import('@dreamlake/presign');
const { createFsStorage } = await import('../src/storage/fs/index.ts');
const { SECRET, tempDir } = await import('./helpers.ts');

type FsStorage = Awaited<ReturnType<typeof createFsStorage>>;

const owner = 'ivy';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const temp = await tempDir('bss-abort-race-');
  const storage = await createFsStorage({
    root: join(temp.dir, 'bss'),
    publicUrl: 'http://127.0.0.1:1',
    secrets: [SECRET],
  });
  t.after(async () => {
    armed = null;
    await temp.remove();
  });
  return storage;
}

/** An open upload of three parts (two of the minimum size and a short last one), all sent. */
async function openUpload(storage: FsStorage, project: string) {
  const sizes = [MIN_PART_SIZE, MIN_PART_SIZE, 777_777];
  const data = randomBytes(sizes.reduce((a, b) => a + b, 0));
  const hash = sha256(data);
  const upload = await storage.createUpload({ owner, project, hash, contentType: 'video/mp4' });
  const parts = [];
  let offset = 0;
  for (const [i, size] of sizes.entries()) {
    const body = data.subarray(offset, offset + size);
    offset += size;
    const { etag } = await storage.receivePart(
      {
        owner,
        project,
        hash,
        uploadId: upload.uploadId,
        partNumber: i + 1,
        maxLength: 5 * 1024 ** 3,
        contentMd5: createHash('md5').update(body).digest('base64'),
        contentLength: body.length,
      },
      Readable.from([body]),
    );
    parts.push({ partNumber: i + 1, etag });
  }
  const dir = storage.layout.uploadDir(owner, project, hash, upload.uploadId);
  return { upload, parts, data, ref: { owner, project, hash }, dir };
}

type Outcome = 'published' | 'not_found';

/** The blob is the verified bytes, or absent; a failed complete is not_found and leaves no blob. */
async function outcomeOf(
  storage: FsStorage,
  completed: PromiseSettledResult<unknown>,
  ref: { owner: string; project: string; hash: string },
  data: Buffer,
): Promise<Outcome> {
  const stored = await storage.stat(ref);
  if (completed.status === 'rejected') {
    const error = completed.reason as Error;
    assert.ok(error instanceof DreamLakeError, `a raw error escaped the complete: ${error?.stack ?? String(error)}`);
    assert.equal(error.code, 'not_found', error.message);
    assert.equal(stored, null, 'a complete that failed left a blob');
    return 'not_found';
  }
  assert.ok(stored, 'a complete answered a blob that is not stored');
  assert.equal(stored.size, data.length);
  const served = await readAll(await storage.read(ref));
  assert.ok(served.equals(data), 'the published blob is not the verified bytes');
  return 'published';
}

/** Runs `held` until it reaches the gate, runs `free` to its end while `held` waits there, then lets `held` go. */
async function interleave(gate: Gate, held: () => Promise<unknown>, free: () => Promise<unknown>) {
  let heldSettled = false;
  const heldRun = held().finally(() => {
    heldSettled = true;
  });
  heldRun.catch(() => {});
  await Promise.race([gate.reached.promise, heldRun.then(() => assert.fail('the held side finished before its gate'))]);
  const freeResult = await Promise.allSettled([free()]);
  assert.equal(heldSettled, false, 'the held side was not in flight while the other side ran');
  gate.release.resolve();
  const heldResult = await Promise.allSettled([heldRun]);
  return { held: heldResult[0] as PromiseSettledResult<unknown>, free: freeResult[0] as PromiseSettledResult<unknown> };
}

const rivals = {
  abort: (storage: FsStorage, upload: { uploadId: string; key: string }) => storage.abort(upload as never),
  sweep: (storage: FsStorage) => storage.sweep(new Date(Date.now() + 60_000)),
} as const;

for (const rival of ['abort', 'sweep'] as const) {
  test(`${rival === 'abort' ? 'an' : 'a'} ${rival} that runs while a complete is held before staging its first part: the complete is not_found and nothing is published`, async (t) => {
    const storage = await setup(t);
    const { upload, parts, data, ref } = await openUpload(storage, `stage-${rival}`);
    const gate = hold('link', (path) => path.startsWith(storage.layout.tmpDir));
    const result = await interleave(
      gate,
      () => storage.complete(upload, parts),
      () => rivals[rival](storage, upload),
    );
    assert.equal(result.free.status, 'fulfilled', String((result.free as PromiseRejectedResult).reason));
    assert.equal(await outcomeOf(storage, result.held, ref, data), 'not_found');
  });

  test(`${rival === 'abort' ? 'an' : 'a'} ${rival} that runs while a complete is held publishing its verified stage: the blob is whole or absent`, async (t) => {
    const storage = await setup(t);
    const { upload, parts, data, ref } = await openUpload(storage, `publish-${rival}`);
    const gate = hold('rename', (path) => path.startsWith(join(storage.layout.root, 'blobs')));
    const result = await interleave(
      gate,
      () => storage.complete(upload, parts),
      () => rivals[rival](storage, upload),
    );
    assert.equal(result.free.status, 'fulfilled', String((result.free as PromiseRejectedResult).reason));
    const outcome = await outcomeOf(storage, result.held, ref, data);
    t.diagnostic(`${rival} during publish: ${outcome}`);
  });

  test(`a complete that runs while ${rival === 'abort' ? 'an' : 'a'} ${rival} is held removing the upload: the blob is published whole`, async (t) => {
    const storage = await setup(t);
    const { upload, parts, data, ref, dir } = await openUpload(storage, `remove-${rival}`);
    const gate = hold('rm', (path) => path === dir);
    const result = await interleave(
      gate,
      () => rivals[rival](storage, upload),
      () => storage.complete(upload, parts),
    );
    assert.equal(result.held.status, 'fulfilled', String((result.held as PromiseRejectedResult).reason));
    assert.equal(await outcomeOf(storage, result.free, ref, data), 'published');
  });
}

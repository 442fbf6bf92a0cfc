/**
 * A part the disk backend finds damaged after a restart, or whose flush failed at complete, is
 * dropped, so the client sends it again. The client may be sending it again already: the drop
 * must then remove only the part it judged, never the fresh one that a send acknowledged while
 * the drop was under way (even the same bytes from the same backend, whose record and file name
 * are those of the part judged).
 */

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fsp, { type FileHandle, open, readFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join, sep } from 'node:path';
import { Readable } from 'node:stream';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { DreamLakeError } from '@dreamlake/presign';
import { crc32Base64, MIN_PART_SIZE } from '@dreamlake/protocol';
import { createFsStorage, type FsStorage } from '../src/storage/fs/index.ts';
import { partData, partPointer } from '../src/storage/fs/layout.ts';
import { dropPart } from '../src/storage/fs/receive-part.ts';
import type { PartRecord } from '../src/storage/fs/records.ts';
import type { UploadRef } from '../src/storage/storage.ts';
import { SECRET, tempDir } from './helpers.ts';

const owner = 'dora';
const project = 'drop';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** `flushBehind: false`: each part's flush is left to its complete (see fs-upload-rig.ts). */
async function backend(root: string, options: { flushBehind?: boolean } = {}): Promise<FsStorage> {
  return createFsStorage({ root, publicUrl: 'http://127.0.0.1:1', secrets: [SECRET], ...options });
}

async function send(storage: FsStorage, upload: UploadRef, hash: string, n: number, body: Buffer): Promise<string> {
  const part = await storage.receivePart(
    {
      owner,
      project,
      hash,
      uploadId: upload.uploadId,
      partNumber: n,
      maxLength: 5 * 1024 ** 3,
      contentMd5: undefined,
      checksumCrc32: crc32Base64(crc32(body)),
      contentLength: body.length,
    },
    Readable.from([body]),
  );
  return part.etag;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Holds the next read of `path` through readFile: reads it, then runs `meanwhile` and waits for it
 * (at most `wait` ms, since a correct drop makes it wait for the drop itself), then answers what
 * was read.
 */
function holdNextRead(t: TestContext, path: string, meanwhile: () => Promise<unknown>, wait: number) {
  const original = fsp.readFile;
  let armed = true;
  const done: { run?: Promise<unknown> } = {};
  fsp.readFile = (async (file: unknown, ...rest: unknown[]) => {
    const read = (original as (...a: unknown[]) => Promise<unknown>)(file, ...rest);
    if (!armed || String(file) !== path) return read;
    armed = false;
    const value = await read;
    done.run = meanwhile();
    await Promise.race([done.run.catch(() => {}), sleep(wait)]);
    return value;
  }) as typeof fsp.readFile;
  syncBuiltinESMExports();
  const restore = () => {
    fsp.readFile = original;
    syncBuiltinESMExports();
  };
  t.after(restore);
  return { restore, done };
}

test('a part sent again while a drop of its damaged copy is under way is kept, and completes', async (t) => {
  const temp = await tempDir('bss-drop-race-');
  t.after(() => temp.remove());
  const root = join(temp.dir, 'bss');
  const parts = [randomBytes(MIN_PART_SIZE), randomBytes(100 * 1024)];
  const data = Buffer.concat(parts);
  const hash = sha256(data);
  const first = await backend(root);
  const upload = await first.createUpload({
    owner,
    project,
    hash,
    contentType: 'application/octet-stream',
    size: data.length,
  });
  for (const [i, body] of parts.entries()) await send(first, upload, hash, i + 1, body);
  const dir = first.layout.uploadDir(owner, project, hash, upload.uploadId);

  // An unclean stop damaged part 2's file; a restarted backend judges it and drops it, while the
  // client sends part 2 again (the same bytes, so the same data file name).
  const judged = JSON.parse(await readFile(partPointer(dir, 2), 'utf8')) as PartRecord;
  const file = await open(partData(dir, 2, judged.etag), 'r+');
  const byte = Buffer.alloc(1);
  await file.read(byte, 0, 1, 0);
  byte[0] = (byte[0] as number) ^ 0xff;
  await file.write(byte, 0, 1, 0);
  await file.close();
  const restarted = await backend(root);
  let resent: string | undefined;
  const hold = holdNextRead(
    t,
    partPointer(dir, 2),
    async () => {
      resent = await send(restarted, upload, hash, 2, parts[1] as Buffer);
    },
    2000,
  );
  await dropPart(dir, 2, judged);
  await hold.done.run;
  hold.restore();
  assert.ok(resent, 'the part sent again was acknowledged');

  const listed = ((await restarted.listParts(upload)) ?? []).map((part) => part.partNumber);
  assert.deepEqual(listed, [1, 2], 'the acknowledged part is kept');
  const blob = await restarted.complete(upload, [
    { partNumber: 1, etag: ((await restarted.listParts(upload)) ?? [])[0]?.etag as string },
    { partNumber: 2, etag: resent },
  ]);
  assert.ok((await readAll(await restarted.read(blob))).equals(data), 'the blob holds the bytes sent');
});

test("a part sent again, same bytes to the same backend, while a complete's flush of it fails is kept, and completes", async (t) => {
  const temp = await tempDir('bss-drop-flush-');
  t.after(() => temp.remove());
  const root = join(temp.dir, 'bss');
  const parts = [randomBytes(MIN_PART_SIZE), randomBytes(100 * 1024)];
  const data = Buffer.concat(parts);
  const hash = sha256(data);
  const storage = await backend(root, { flushBehind: false });
  const upload = await storage.createUpload({
    owner,
    project,
    hash,
    contentType: 'application/octet-stream',
    size: data.length,
  });
  const etags: string[] = [];
  for (const [i, body] of parts.entries()) etags.push(await send(storage, upload, hash, i + 1, body));

  // The fsync of part 2's staged piece fails (EIO); before it answers, the client sends part 2
  // again and is answered.
  let resent: string | undefined;
  const original = fsp.open;
  fsp.open = (async (path: unknown, ...rest: unknown[]) => {
    const handle = await (original as (...a: unknown[]) => Promise<FileHandle>)(path, ...rest);
    const name = String(path);
    if (name.startsWith(join(root, 'tmp') + sep) && name.endsWith(`${sep}1`)) {
      handle.sync = async () => {
        if (resent === undefined) resent = await send(storage, upload, hash, 2, parts[1] as Buffer);
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO', errno: -5, syscall: 'fsync' });
      };
    }
    return handle;
  }) as typeof fsp.open;
  syncBuiltinESMExports();
  const restore = () => {
    fsp.open = original;
    syncBuiltinESMExports();
  };
  t.after(restore);

  const complete = () =>
    storage.complete(
      upload,
      etags.map((etag, i) => ({ partNumber: i + 1, etag })),
    );
  await assert.rejects(complete(), (error: unknown) => {
    assert.ok(error instanceof DreamLakeError, String(error));
    assert.equal(error.code, 'storage_unavailable', error.message);
    return true;
  });
  restore();
  assert.equal(resent, etags[1], 'the part sent again was acknowledged');
  const listed = ((await storage.listParts(upload)) ?? []).map((part) => part.partNumber);
  assert.deepEqual(listed, [1, 2], 'the part sent again is kept');
  const blob = await complete();
  assert.ok((await readAll(await storage.read(blob))).equals(data), 'the blob holds the bytes sent');
});

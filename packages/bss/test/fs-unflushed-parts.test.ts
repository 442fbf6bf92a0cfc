/**
 * The disk backend acknowledges a part once written, before it is flushed: an unclean stop (power
 * loss) may then leave a part's file short, wrong or gone, and its pointer empty. These tests
 * play such a stop by damaging the files of parts while no backend runs, then start a new backend
 * over the same folder (as BSS restarts): it must never list a part whose bytes do not match the
 * CRC-32 recorded for it, a complete must not publish (nor discard the upload over) such a part,
 * and once the client sends the dropped parts again the blob verifies and reads back whole.
 */

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, readFile, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { DreamLakeError } from '@dreamlake/presign';
import { crc32Base64, MIN_PART_SIZE } from '@dreamlake/protocol';
import { createFsStorage, type FsStorage } from '../src/storage/fs/index.ts';
import { partPointer } from '../src/storage/fs/layout.ts';
import type { UploadRef } from '../src/storage/storage.ts';
import { SECRET, tempDir } from './helpers.ts';

const owner = 'una';
const project = 'crash';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface Source {
  data: Buffer;
  hash: string;
  parts: Buffer[];
}

function makeSource(count = 4): Source {
  const sizes = Array.from({ length: count }, (_, i) => (i < count - 1 ? MIN_PART_SIZE : 123_457));
  const data = randomBytes(sizes.reduce((a, b) => a + b, 0));
  const parts: Buffer[] = [];
  let offset = 0;
  for (const size of sizes) {
    parts.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return { data, hash: sha256(data), parts };
}

async function backend(root: string): Promise<FsStorage> {
  return createFsStorage({ root, publicUrl: 'http://127.0.0.1:1', secrets: [SECRET] });
}

/** Sends part `n` (1-based) with its CRC-32 only, as the CLI does, in socket-sized chunks. */
async function send(storage: FsStorage, upload: UploadRef, source: Source, n: number): Promise<string> {
  const body = source.parts[n - 1] as Buffer;
  const chunks: Buffer[] = [];
  for (let at = 0; at < body.length; at += 65_536) chunks.push(body.subarray(at, at + 65_536));
  const part = await storage.receivePart(
    {
      owner,
      project,
      hash: source.hash,
      uploadId: upload.uploadId,
      partNumber: n,
      maxLength: 5 * 1024 ** 3,
      contentMd5: undefined,
      checksumCrc32: crc32Base64(crc32(body)),
      contentLength: body.length,
    },
    Readable.from(chunks),
  );
  return part.etag;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The data file part `n` points at. */
async function dataFileOf(storage: FsStorage, upload: UploadRef, source: Source, n: number): Promise<string> {
  const dir = storage.layout.uploadDir(owner, project, source.hash, upload.uploadId);
  const { etag } = JSON.parse(await readFile(partPointer(dir, n), 'utf8')) as { etag: string };
  const names = await readdir(join(dir, 'data'));
  assert.ok(names.includes(`${n}.${etag}`), `part ${n}'s data file is there`);
  return join(dir, 'data', `${n}.${etag}`);
}

/** Overwrites a byte in the middle of a file, keeping its size (what a lost page cache can leave). */
async function flipByte(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const at = Math.floor((await handle.stat()).size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = (byte[0] as number) ^ 0xff;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const temp = await tempDir('bss-unflushed-');
  t.after(() => temp.remove());
  const root = join(temp.dir, 'bss');
  const source = makeSource();
  const first = await backend(root);
  const upload = await first.createUpload({
    owner,
    project,
    hash: source.hash,
    contentType: 'application/octet-stream',
    size: source.data.length,
  });
  const etags: string[] = [];
  for (let n = 1; n <= source.parts.length; n += 1) etags.push(await send(first, upload, source, n));
  return { root, source, first, upload, etags };
}

const listed = async (storage: FsStorage, upload: UploadRef) =>
  ((await storage.listParts(upload)) ?? []).map((part) => part.partNumber);

test('after an unclean stop, a restarted backend lists only parts whose bytes match their CRC-32; the ones re-sent complete into the verified blob', async (t) => {
  const { root, source, first, upload, etags } = await setup(t);
  // The stop: part 2 keeps its size with a wrong byte, part 3 is cut short, part 4's file is gone.
  await flipByte(await dataFileOf(first, upload, source, 2));
  await truncate(await dataFileOf(first, upload, source, 3), 4096);
  await unlink(await dataFileOf(first, upload, source, 4));

  const restarted = await backend(root);
  assert.deepEqual(await listed(restarted, upload), [1], 'only the intact part is listed');
  // Dropped, not just hidden: listed the same way again, and by yet another start.
  assert.deepEqual(await listed(await backend(root), upload), [1]);

  // The client sends what is missing again; the blob verifies and reads back as the source.
  const resent = [etags[0] as string];
  for (const n of [2, 3, 4]) resent.push(await send(restarted, upload, source, n));
  assert.deepEqual(await listed(restarted, upload), [1, 2, 3, 4]);
  const blob = await restarted.complete(
    upload,
    resent.map((etag, i) => ({ partNumber: i + 1, etag })),
  );
  assert.equal(blob.hash, source.hash);
  assert.equal(blob.size, source.data.length);
  assert.ok((await readAll(await restarted.read(blob))).equals(source.data), 'the blob holds the source bytes');
});

test('a complete after an unclean stop refuses a damaged part by number and keeps the upload open, instead of publishing or discarding it', async (t) => {
  const { root, source, first, upload, etags } = await setup(t);
  await flipByte(await dataFileOf(first, upload, source, 3));

  const restarted = await backend(root);
  const parts = etags.map((etag, i) => ({ partNumber: i + 1, etag }));
  await assert.rejects(restarted.complete(upload, parts), (error: unknown) => {
    assert.ok(error instanceof DreamLakeError, String(error));
    assert.equal(error.code, 'invalid_part', error.message);
    assert.equal((error.details as { partNumber?: number } | undefined)?.partNumber, 3);
    return true;
  });
  assert.equal(await restarted.stat({ owner, project, hash: source.hash }), null, 'nothing was published');
  // The upload stays, without the damaged part: sent again, it completes.
  assert.deepEqual(await listed(restarted, upload), [1, 2, 4]);
  parts[2] = { partNumber: 3, etag: await send(restarted, upload, source, 3) };
  const blob = await restarted.complete(upload, parts);
  assert.ok((await readAll(await restarted.read(blob))).equals(source.data));
});

test('a part pointer left empty or cut short by an unclean stop counts as a part never received', async (t) => {
  const { root, source, first, upload } = await setup(t);
  const dir = first.layout.uploadDir(owner, project, source.hash, upload.uploadId);
  await writeFile(partPointer(dir, 1), '');
  await writeFile(partPointer(dir, 2), '{"etag":"ab');

  const restarted = await backend(root);
  assert.deepEqual(await listed(restarted, upload), [3, 4]);
  const etags: string[] = [];
  for (const n of [1, 2]) etags.push(await send(restarted, upload, source, n));
  const all = (await restarted.listParts(upload)) ?? [];
  const blob = await restarted.complete(
    upload,
    all.map((part) => ({ partNumber: part.partNumber, etag: part.etag })),
  );
  assert.ok((await readAll(await restarted.read(blob))).equals(source.data));
});

test('intact parts written before a restart are listed and complete without being sent again', async (t) => {
  const { root, source, upload, etags } = await setup(t);
  const restarted = await backend(root);
  assert.deepEqual(await listed(restarted, upload), [1, 2, 3, 4]);
  const blob = await restarted.complete(
    upload,
    etags.map((etag, i) => ({ partNumber: i + 1, etag })),
  );
  assert.ok((await readAll(await restarted.read(blob))).equals(source.data));
});

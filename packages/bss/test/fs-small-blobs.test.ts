/**
 * Small single-shot blobs on disk, which are kept as one file each: many at once land whole, each
 * once, and are still there for a fresh process; they live beside multipart blobs of the same hash
 * (whichever comes first stands); downloads, ranges and deletion serve them like any blob.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { createFsStorage, type FsStorage } from '../src/storage/fs/index.ts';
import type { SingleUpload } from '../src/storage/single-upload.ts';
import {
  makeApp,
  SECRET,
  sendParts,
  sha256,
  signedQuery,
  singlePath,
  stagedFiles,
  tempDir,
  uploadPaths,
} from './helpers.ts';

const owner = 'olga';
const project = 'arm-runs';

function small(size = 20 * 1024): { data: Buffer; upload: SingleUpload } {
  const data = randomBytes(size);
  return { data, upload: { owner, project, hash: sha256(data), size, contentType: 'text/plain' } };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const storageAt = (root: string) => createFsStorage({ root, publicUrl: 'http://127.0.0.1:1', secrets: [SECRET] });

const send = (storage: FsStorage, upload: SingleUpload, data: Buffer) =>
  storage.receiveSingle(upload, Readable.from([data]));

test('many concurrent single-shot uploads of the same and of different blobs all land whole, once each, and a fresh storage over the folder reads them', async (t) => {
  const temp = await tempDir('bss-small-');
  t.after(() => temp.remove());
  const root = join(temp.dir, 'bss');
  const storage = await storageAt(root);
  const files = Array.from({ length: 40 }, () => small());
  // Every file three times at once, interleaved, as retries and duplicate files in a folder do.
  const answers = await Promise.all(
    [0, 1, 2].flatMap(() => files.map(({ upload, data }) => send(storage, upload, data))),
  );
  for (const [i, answer] of answers.entries()) {
    const { upload } = files[i % files.length]!;
    assert.deepEqual(answer, { owner, project, hash: upload.hash, size: upload.size, contentType: 'text/plain' });
  }
  assert.deepEqual(
    (await readdir(join(root, 'blobs', owner, project))).sort(),
    files.map((f) => f.upload.hash).sort(),
    'one blob per hash',
  );
  assert.deepEqual(await readdir(join(root, 'tmp')), [], 'no temporary file stays behind');

  const fresh = await storageAt(root);
  for (const { upload, data } of files) {
    assert.deepEqual(await fresh.stat(upload), {
      owner,
      project,
      hash: upload.hash,
      size: data.length,
      contentType: 'text/plain',
    });
    assert.ok((await collect(await fresh.read(upload))).equals(data));
  }
  const { upload, data } = files[0]!;
  const slice = await collect(await fresh.read(upload, { start: 1000, end: 1099 }));
  assert.ok(slice.equals(data.subarray(1000, 1100)), 'a range is served from the blob bytes, past its manifest');
});

test('a single-shot upload of a blob that a multipart complete published answers that blob, and the other way round', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const put = (data: Buffer, contentType: string) =>
    bss.app.inject({
      method: 'PUT',
      url: singlePath('files', { owner, project, hash: sha256(data), size: data.length }),
      payload: data,
      headers: { 'content-type': contentType },
    });
  const complete = async (data: Buffer, contentType: string) => {
    const paths = uploadPaths('files', { owner, project, hash: sha256(data) });
    const sent = await sendParts(bss.app, paths, data, contentType);
    return bss.app.inject({
      method: 'POST',
      url: paths.complete,
      payload: { uploadId: sent.uploadId, key: sent.key, parts: sent.etags },
    });
  };

  const first = randomBytes(3000);
  assert.equal((await complete(first, 'video/mp4')).statusCode, 200);
  const single = await put(first, 'text/plain');
  assert.equal(single.statusCode, 200, single.body);
  assert.equal(single.json().contentType, 'video/mp4', 'the multipart blob stands');

  const second = randomBytes(3000);
  assert.equal((await put(second, 'text/plain')).statusCode, 200);
  const multipart = await complete(second, 'video/mp4');
  assert.equal(multipart.statusCode, 200, multipart.body);
  assert.equal(multipart.json().contentType, 'text/plain', 'the single-shot blob stands');
  assert.deepEqual(await stagedFiles(bss.dir), []);

  const download = await bss.app.inject({
    method: 'GET',
    url: `/blobs/download?${signedQuery('download', { owner, project, hash: sha256(second) })}`,
  });
  assert.equal(download.statusCode, 200);
  assert.ok(download.rawPayload.equals(second));
});

test('a small single-shot blob is deleted like any blob once its grace period is over, and kept before', async (t) => {
  const temp = await tempDir('bss-small-');
  t.after(() => temp.remove());
  const storage = await storageAt(join(temp.dir, 'bss'));
  const { upload, data } = small(500);
  await send(storage, upload, data);
  assert.equal(await storage.deleteBlob(upload, new Date(Date.now() - 60_000)), 'recent');
  assert.notEqual(await storage.stat(upload), null);
  assert.equal(await storage.deleteBlob(upload, new Date(Date.now() + 60_000)), 'deleted');
  assert.equal(await storage.stat(upload), null);
  await assert.rejects(storage.read(upload), { code: 'not_found' });
  assert.equal(await storage.deleteBlob(upload, new Date(Date.now() + 60_000)), 'absent');
  // Uploaded again after it was collected, it is a new blob.
  await send(storage, upload, data);
  assert.ok((await collect(await storage.read(upload))).equals(data));
  const info = await stat(join(temp.dir, 'bss', 'blobs', owner, project, upload.hash));
  assert.ok(info.isFile(), 'a small single-shot blob is one file');
});

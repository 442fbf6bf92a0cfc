/**
 * Single-shot bodies on both sides of the size up to which the disk backend takes a body into
 * memory (256 KiB) rather than streaming it to a staged file: each way publishes the same blob and
 * refuses the same bad bodies, leaving nothing behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { makeApp, sha256, signedQuery, singlePath, stagedFiles, type TestApp } from './helpers.ts';

const owner = 'gina';
const project = 'frames';
const IN_MEMORY = 256 * 1024;

const put = (bss: TestApp, url: string, payload: Buffer | Readable) =>
  bss.app.inject({ method: 'PUT', url, payload, headers: { 'content-type': 'image/jpeg' } });

async function blobsOf(bss: TestApp): Promise<string[]> {
  return readdir(join(bss.dir, 'bss', 'blobs', owner, project)).catch(() => [] as string[]);
}

/** The body in pieces of `size` bytes, as a client streaming it sends it. */
function pieces(data: Buffer, size: number): Readable {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return Readable.from(out);
}

for (const size of [1, IN_MEMORY - 1, IN_MEMORY, IN_MEMORY + 1, 3 * IN_MEMORY]) {
  test(`a body of ${size} bytes: published whole or in pieces; longer, shorter or other bytes refused and nothing kept`, async (t) => {
    const bss = await makeApp();
    t.after(() => bss.close());
    const data = randomBytes(size);
    const scope = { owner, project, hash: sha256(data), size };
    const url = singlePath('image', scope);

    const longer = await put(bss, url, pieces(Buffer.concat([data, Buffer.from('!')]), 64 * 1024));
    assert.equal(longer.statusCode, 413, longer.body);
    assert.equal(longer.json().error.code, 'too_large');
    const shorter = await put(bss, url, pieces(data.subarray(0, size - 1), 64 * 1024));
    assert.equal(shorter.statusCode, 400, shorter.body);
    assert.equal(shorter.json().error.code, 'invalid_part');
    const other = Buffer.from(data);
    other[size - 1] = (other[size - 1] ?? 0) ^ 1;
    const mismatch = await put(bss, url, pieces(other, 16 * 1024));
    assert.equal(mismatch.statusCode, 422, mismatch.body);
    assert.equal(mismatch.json().error.code, 'hash_mismatch');
    assert.deepEqual(await stagedFiles(bss.dir), []);
    assert.deepEqual(await blobsOf(bss), []);

    const stored = await put(bss, url, pieces(data, 16 * 1024));
    assert.equal(stored.statusCode, 200, stored.body);
    assert.equal(stored.json().size, size);
    const again = await put(bss, url, data);
    assert.equal(again.statusCode, 200, again.body);
    assert.deepEqual(await blobsOf(bss), [scope.hash]);
    assert.deepEqual(await stagedFiles(bss.dir), []);

    const ref = { owner, project, hash: scope.hash };
    const download = await bss.app.inject({ method: 'GET', url: `/blobs/download?${signedQuery('download', ref)}` });
    assert.equal(download.statusCode, 200);
    assert.ok(download.rawPayload.equals(data), 'the stored bytes are the body');
  });
}

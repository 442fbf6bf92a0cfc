/**
 * The multipart steps of an S3 BSS take only multipart keys of their signed scope. A single-shot
 * staging key lies under the same `uploads/{owner}/{project}/{hash}/` folder, and its client keeps
 * a presigned PUT of it until the URL expires: a complete that took it would verify the object and
 * then copy whatever it holds by then (Ceph RGW ignores the copy's If-Match).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { blobKey } from '../src/storage/keys.ts';
import { MiB, sha256, signedQuery, singlePath } from './helpers.ts';
import { useS3App } from './s3-app.ts';
import { readS3TestConfig, S3_SKIP_REASON } from './storage-s3-env.ts';

const base = readS3TestConfig();
const owner = 'hugo';
const project = 'staging';

type Grant = { owner: string; project: string; hash: string; size: number };

/** The five multipart paths and the single-shot path of a batch grant for one file (size signed). */
function grantPaths(grant: Grant) {
  const params = { owner: grant.owner, project: grant.project, hash: grant.hash, size: String(grant.size) };
  const path = (action: string, route: string) => `/files/upload/multipart/${route}?${signedQuery(action, params)}`;
  return {
    parts: path('upload-parts', 'parts'),
    partsDone: path('upload-parts-done', 'parts-done'),
    complete: path('upload-complete', 'complete'),
    abort: path('upload-abort', 'abort'),
    single: singlePath('files', grant),
  };
}

describe('multipart steps on S3 and single-shot staging keys', { skip: base ? false : S3_SKIP_REASON }, () => {
  // A BSS that stages every single-shot body in the bucket (as before it took small ones itself).
  const s3 = useS3App(base!, { memoryReceiveLimit: 0 });

  /** A file whose single-shot body is staged in the s3.bucket, as a client with a batch grant leaves it. */
  async function staged(size = MiB) {
    const data = randomBytes(size);
    const grant = { owner, project, hash: sha256(data), size };
    const paths = grantPaths(grant);
    const begin = await s3.app.inject({ method: 'POST', url: paths.single, payload: { contentType: 'video/mp4' } });
    assert.equal(begin.statusCode, 200, begin.body);
    const { url, headers, key } = begin.json() as { url: string; headers: Record<string, string>; key: string };
    const put = (body: Buffer) => fetch(url, { method: 'PUT', body: new Uint8Array(body), headers });
    assert.equal((await put(data)).status, 200);
    return { data, grant, paths, key, put };
  }

  async function blobBytes(grant: Grant): Promise<Buffer | null> {
    try {
      const object = await s3.bucket.client.send(
        new GetObjectCommand({ Bucket: s3.bucket.config.bucket, Key: blobKey(grant) }),
      );
      return Buffer.from(await object.Body!.transformToByteArray());
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return null;
      throw error;
    }
  }

  test('parts, parts-done, complete and abort refuse a staging key: 403 scope_mismatch, nothing published', async () => {
    const { grant, paths, key } = await staged();
    const upload = { uploadId: 'x', key };
    const answers = [
      await s3.app.inject({
        method: 'POST',
        url: paths.complete,
        payload: { ...upload, parts: [{ partNumber: 1, etag: 'e' }] },
      }),
      await s3.app.inject({
        method: 'POST',
        url: paths.parts,
        payload: { ...upload, partNumbers: [1], contentLength: { '1': grant.size } },
      }),
      await s3.app.inject({ method: 'GET', url: `${paths.partsDone}&${new URLSearchParams(upload)}` }),
      await s3.app.inject({ method: 'POST', url: paths.abort, payload: upload }),
    ];
    for (const [i, res] of answers.entries()) {
      assert.equal(res.statusCode, 403, `step ${i}: ${res.body}`);
      assert.equal(res.json().error.code, 'scope_mismatch');
    }
    assert.equal(await blobBytes(grant), null, 'nothing is published from the staging key');
    assert.deepEqual(await s3.bucket.keys(key), [key], 'the staged object is left for its own complete');
  });

  test('keys BSS keeps for itself, or of another scope, are refused as well', async () => {
    const { grant, paths, key } = await staged(1000);
    const folder = key.slice(0, key.lastIndexOf('/') + 1);
    for (const other of [
      `${folder}copy-${'ab'.repeat(12)}`,
      `${folder}${'ab'.repeat(12)}-x`,
      `${folder.replace(grant.hash, 'cd'.repeat(32))}${'ab'.repeat(12)}`,
      `blobs/${owner}/${project}/${grant.hash}`,
    ]) {
      const res = await s3.app.inject({
        method: 'POST',
        url: paths.complete,
        payload: { uploadId: 'x', key: other, parts: [{ partNumber: 1, etag: 'e' }] },
      });
      assert.equal(res.statusCode, 403, `${other}: ${res.body}`);
      assert.equal(res.json().error.code, 'scope_mismatch');
    }
  });

  test('a staging object re-PUT while a multipart complete names it never becomes the blob', {
    timeout: 120_000,
  }, async (t) => {
    let landed = 0;
    let refused = 0;
    const rounds = 48;
    for (let round = 0; round < rounds; round++) {
      const { data, grant, paths, key, put } = await staged();
      const started = Date.now();
      let running = true;
      const complete = s3.app
        .inject({
          method: 'POST',
          url: paths.complete,
          payload: { uploadId: 'x', key, parts: [{ partNumber: 1, etag: 'e' }] },
        })
        .finally(() => {
          running = false;
        });
      // Spread over the complete's first 288 ms: a verify read and a copy of 1 MiB fall in there.
      await sleep(round * 6);
      const replaced = await put(randomBytes(data.length));
      if (replaced.status === 200 && running) landed += 1;
      const res = await complete;
      const blob = await blobBytes(grant);
      if (blob)
        assert.equal(sha256(blob), grant.hash, `round ${round}: the blob named ${grant.hash} holds other bytes`);
      assert.notEqual(res.statusCode, 500, res.body);
      if (res.statusCode === 403 && res.json().error.code === 'scope_mismatch') refused += 1;
      t.diagnostic(`round ${round}: complete ${res.statusCode} after ${Date.now() - started} ms`);
    }
    t.diagnostic(`${landed} re-PUTs landed while a complete ran; ${refused} completes refused`);
    // Either every complete was refused before it read anything, or the race was run for real.
    assert.ok(refused === rounds || landed > 0, 'no re-PUT landed while a complete ran');
  });
});

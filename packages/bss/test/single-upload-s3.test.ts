import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { verifyReceipt } from '@dreamlake/presign';
import { flipFirst, SECRET, sha256, singlePath } from './helpers.ts';
import { useS3App } from './s3-app.ts';
import { readS3TestConfig, S3_SKIP_REASON } from './storage-s3-env.ts';

const base = readS3TestConfig();
const owner = 'hugo';
const project = 'clips';

describe('single-shot uploads through BSS on S3, staged in the bucket', { skip: base ? false : S3_SKIP_REASON }, () => {
  const s3 = useS3App(base!);

  /** Past the 1 MiB BSS takes itself (`memoryReceiveLimit`): such a body is staged in the bucket. */
  function file(size = 1024 * 1024 + 40_000) {
    const data = randomBytes(size);
    const scope = { owner, project, hash: sha256(data), size };
    const path = singlePath('videos', scope);
    return { data, scope, path, completePath: path.replace('/upload/single?', '/upload/single/complete?') };
  }

  async function stage(path: string, contentType = 'video/mp4') {
    const res = await s3.app.inject({ method: 'POST', url: path, payload: { contentType } });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { mode: string; url: string; headers: Record<string, string>; key: string; expiresAt: string };
  }

  test('POST, PUT to S3, complete: the blob is published with a receipt and the staged object is gone', async () => {
    const f = file();
    const staged = await stage(f.path);
    assert.equal(staged.mode, 's3');
    assert.match(staged.key, new RegExp(`^uploads/${owner}/${project}/${f.scope.hash}/single-[0-9a-f]{24}$`));
    assert.deepEqual(staged.headers, { 'content-type': 'video/mp4' });
    assert.ok(Date.parse(staged.expiresAt) > Date.now());
    const put = await fetch(staged.url, { method: 'PUT', body: new Uint8Array(f.data), headers: staged.headers });
    assert.equal(put.status, 200, await put.text());
    assert.equal(await s3.storage.stat(f.scope), null, 'nothing is visible before complete');

    const done = await s3.app.inject({ method: 'POST', url: f.completePath, payload: { key: staged.key } });
    assert.equal(done.statusCode, 200, done.body);
    const { receipt, ...answer } = done.json();
    assert.deepEqual(answer, {
      success: true,
      key: `blobs/${owner}/${project}/${f.scope.hash}`,
      hash: f.scope.hash,
      size: f.data.length,
      contentType: 'video/mp4',
    });
    assert.deepEqual(verifyReceipt([SECRET], f.scope, receipt, Math.floor(Date.now() / 1000)), {
      size: f.data.length,
      contentType: 'video/mp4',
    });
    assert.deepEqual(await s3.bucket.keys(`uploads/${owner}/${project}/${f.scope.hash}/`), []);
    const again = await s3.app.inject({ method: 'POST', url: f.completePath, payload: { key: staged.key } });
    assert.equal(again.statusCode, 200, 'a retried complete answers the blob');
  });

  test('the presigned PUT takes exactly the signed length and content type', async () => {
    const f = file();
    const staged = await stage(f.path);
    const send = (body: Buffer, headers: Record<string, string>) =>
      fetch(staged.url, { method: 'PUT', body: new Uint8Array(body), headers });
    assert.equal((await send(f.data.subarray(1), staged.headers)).status, 403, 'shorter');
    assert.equal((await send(Buffer.concat([f.data, Buffer.from('!')]), staged.headers)).status, 403, 'longer');
    assert.equal((await send(f.data, { 'content-type': 'text/html' })).status, 403, 'another content type');
    assert.deepEqual(await s3.bucket.keys(staged.key), []);
    const none = await s3.app.inject({ method: 'POST', url: f.completePath, payload: { key: staged.key } });
    assert.equal(none.statusCode, 404);
    assert.equal(none.json().error.code, 'not_found');
  });

  test('a staged object of another size or SHA-256 is refused at complete and deleted', async () => {
    const cases = [
      { bytes: (d: Buffer) => Buffer.concat([d, Buffer.from('!')]), status: 413, code: 'too_large' },
      { bytes: (d: Buffer) => d.subarray(1), status: 400, code: 'invalid_part' },
      // The first byte flipped (setting it to 0 left the bytes unchanged once in 256 runs).
      { bytes: (d: Buffer) => flipFirst(d), status: 422, code: 'hash_mismatch' },
    ];
    for (const c of cases) {
      const f = file();
      const staged = await stage(f.path);
      // Written behind BSS's back, as a store that ignored the signed length would.
      await s3.bucket.client.send(
        new PutObjectCommand({
          Bucket: s3.bucket.config.bucket,
          Key: staged.key,
          Body: c.bytes(f.data),
          ContentType: 'video/mp4',
        }),
      );
      const res = await s3.app.inject({ method: 'POST', url: f.completePath, payload: { key: staged.key } });
      assert.equal(res.statusCode, c.status, res.body);
      assert.equal(res.json().error.code, c.code);
      assert.deepEqual(await s3.bucket.keys(staged.key), [], `${c.code}: the staged object was deleted`);
      assert.equal(await s3.storage.stat(f.scope), null);
    }
  });

  test('complete wants a single-shot staging key of the signed scope', async () => {
    const f = file();
    const staged = await stage(f.path);
    const other = file();
    for (const key of [
      staged.key.replace(owner, 'mallory'),
      staged.key.replace(f.scope.hash, other.scope.hash),
      staged.key.replace('/single-', '/multi-'),
    ]) {
      const res = await s3.app.inject({ method: 'POST', url: f.completePath, payload: { key } });
      assert.equal(res.statusCode, 403, key);
      assert.equal(res.json().error.code, 'scope_mismatch');
    }
  });

  test('PUT to BSS on S3 is 409 conflict before the body is read; the store URL never outlives the signed one', async () => {
    const f = file();
    const res = await s3.app.inject({
      method: 'PUT',
      url: f.path,
      payload: f.data,
      headers: { 'content-type': 'video/mp4' },
    });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error.code, 'conflict');
    assert.equal(res.headers.connection, 'close');

    const now = Math.floor(Date.now() / 1000);
    const short = singlePath('videos', f.scope, { now, ttl: 100 });
    const staged = await stage(short);
    assert.ok(Date.parse(staged.expiresAt) <= (now + 100) * 1000);
    assert.ok(Number(new URL(staged.url).searchParams.get('X-Amz-Expires')) <= 100);
  });
});

/**
 * On S3 a part PUT goes to the store, which BSS cannot hold to an upper bound: a part URL signs
 * one exact Content-Length, the part's length in a plan of the signed size, so the store itself
 * refuses any other body. A grant of a few bytes can no longer park gigabytes in an open upload.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { describe, test } from 'node:test';
import { MiB, sha256, signedQuery } from './helpers.ts';
import { useS3App } from './s3-app.ts';
import { readS3TestConfig, S3_SKIP_REASON } from './storage-s3-env.ts';

const base = readS3TestConfig();
const owner = 'hugo';
const project = 'lengths';

function grantPaths(hash: string, size?: number) {
  const params = { owner, project, hash, ...(size !== undefined ? { size: String(size) } : {}) };
  const path = (action: string, route: string) => `/files/upload/multipart/${route}?${signedQuery(action, params)}`;
  return { init: path('upload-init', 'init'), parts: path('upload-parts', 'parts') };
}

/** A PUT whose body is sent in chunks, without a Content-Length. */
function chunkedPut(url: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } });
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.write(body.subarray(0, 1));
    req.end(body.subarray(1));
  });
}

const put = async (url: string, body: Buffer) =>
  (await fetch(url, { method: 'PUT', body: new Uint8Array(body) })).status;

describe('S3 part URLs bound to the planned part length', { skip: base ? false : S3_SKIP_REASON }, () => {
  const s3 = useS3App(base!);

  async function init(paths: ReturnType<typeof grantPaths>) {
    const res = await s3.app.inject({ method: 'POST', url: paths.init, payload: { contentType: 'video/mp4' } });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { uploadId: string; key: string };
  }

  async function partUrls(paths: ReturnType<typeof grantPaths>, body: object) {
    return s3.app.inject({ method: 'POST', url: paths.parts, payload: body });
  }

  test('a 1-byte grant gets a part URL for one byte only: S3 refuses a longer, shorter or chunked body', async () => {
    const paths = grantPaths(sha256(Buffer.from('x')), 1);
    const upload = await init(paths);

    const undeclared = await partUrls(paths, { ...upload, partNumbers: [1] });
    assert.equal(undeclared.statusCode, 400, `no URL without a length to bind it to: ${undeclared.body}`);
    assert.equal(undeclared.json().error.code, 'invalid_request');
    const tooLong = await partUrls(paths, { ...upload, partNumbers: [1], contentLength: { '1': 2 } });
    assert.equal(tooLong.statusCode, 413);
    assert.equal(tooLong.json().error.code, 'too_large');
    const past = await partUrls(paths, { ...upload, partNumbers: [2], contentLength: { '2': 0 } });
    assert.equal(past.statusCode, 413);

    const res = await partUrls(paths, { ...upload, partNumbers: [1], contentLength: { '1': 1 } });
    assert.equal(res.statusCode, 200, res.body);
    const url = res.json().parts['1'] as string;
    assert.notEqual(await put(url, randomBytes(MiB)), 200, 'a 1 MiB body');
    assert.notEqual(await put(url, Buffer.alloc(0)), 200, 'an empty body');
    assert.notEqual(await chunkedPut(url, Buffer.from('xy')), 200, 'a chunked body');
    const listed = await s3.app.inject({
      method: 'GET',
      url: `/files/upload/multipart/parts-done?${signedQuery('upload-parts-done', { owner, project, hash: sha256(Buffer.from('x')), size: '1' })}&${new URLSearchParams(upload)}`,
    });
    assert.deepEqual(listed.json().parts, [], 'no body was taken');
    assert.equal(await put(url, Buffer.from('x')), 200, 'the one byte');
  });

  test('a declared length outside every plan of the signed size is refused; lengths of a real plan are not', async () => {
    const size = 12 * MiB + 5;
    const paths = grantPaths('ab'.repeat(32), size);
    const upload = await init(paths);
    // Parts of 5 MiB: 5, 5, 2 MiB + 5; parts of 8 MiB: 8, 4 MiB + 5.
    for (const [n, length] of [
      [1, 5 * MiB],
      [2, 5 * MiB],
      [3, 2 * MiB + 5],
      [1, 8 * MiB],
      [2, 4 * MiB + 5],
      [1, size],
    ] as const) {
      const res = await partUrls(paths, { ...upload, partNumbers: [n], contentLength: { [n]: length } });
      assert.equal(res.statusCode, 200, `part ${n} of ${length} bytes: ${res.body}`);
    }
    // Part 2 longer than half the file, part 3 longer than a third: no plan has them.
    for (const [n, length] of [
      [2, 6 * MiB + 3],
      [3, 4 * MiB + 2],
    ] as const) {
      const res = await partUrls(paths, { ...upload, partNumbers: [n], contentLength: { [n]: length } });
      assert.equal(res.statusCode, 413, `part ${n} of ${length} bytes: ${res.body}`);
    }
  });

  test('an init whose URL states no size is refused (400): nothing would bound its parts', async () => {
    const res = await s3.app.inject({
      method: 'POST',
      url: grantPaths('cd'.repeat(32)).init,
      payload: { contentType: 'video/mp4', size: 10 },
    });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error.code, 'invalid_request');
    const opened = (await s3.bucket.multipartKeys()).filter((key) => key.includes('cd'.repeat(32)));
    assert.deepEqual(opened, [], 'no upload was opened');
  });
});

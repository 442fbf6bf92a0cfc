import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { verifyReceipt } from '@dreamlake/presign';
import {
  flipFirst,
  makeApp,
  pathOf,
  SECRET,
  sha256,
  signedQuery,
  singlePath,
  stagedFiles,
  type TestApp,
} from './helpers.ts';

const owner = 'erin';
const project = 'scans';

function file(size = 50_000) {
  const data = randomBytes(size);
  return { data, scope: { owner, project, hash: sha256(data), size } };
}

const put = (
  bss: TestApp,
  url: string,
  payload: Buffer | Readable,
  headers: Record<string, string> = { 'content-type': 'image/png' },
) => bss.app.inject({ method: 'PUT', url, payload, headers });

async function blobsOf(bss: TestApp): Promise<string[]> {
  return readdir(join(bss.dir, 'bss', 'blobs', owner, project)).catch(() => [] as string[]);
}

test('a single-shot PUT publishes the blob: answer with receipt, stat, download and Lambda verify', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const { data, scope } = file();
  const res = await put(bss, singlePath('image', scope), data);
  assert.equal(res.statusCode, 200, res.body);
  const { receipt, ...answer } = res.json();
  assert.deepEqual(answer, {
    success: true,
    key: `blobs/${owner}/${project}/${scope.hash}`,
    hash: scope.hash,
    size: data.length,
    contentType: 'image/png',
  });
  assert.deepEqual(verifyReceipt([SECRET], scope, receipt, Math.floor(Date.now() / 1000)), {
    size: data.length,
    contentType: 'image/png',
  });

  const ref = { owner, project, hash: scope.hash };
  const stat = await bss.app.inject({ method: 'GET', url: `/blobs/stat?${signedQuery('stat', ref)}` });
  assert.deepEqual(stat.json(), { ...ref, size: data.length, contentType: 'image/png' });
  const download = await bss.app.inject({ method: 'GET', url: `/blobs/download?${signedQuery('download', ref)}` });
  assert.equal(download.statusCode, 200);
  assert.ok(download.rawPayload.equals(data));
  const verified = await bss.app.inject({ method: 'POST', url: `/lambda/verify?${signedQuery('lambda-verify', ref)}` });
  assert.deepEqual(verified.json(), { ok: true, hash: scope.hash, actualHash: scope.hash, size: data.length });
  assert.deepEqual(await stagedFiles(bss.dir), []);
});

test('single-shot signature failures: missing, malformed, bad, expired, another action, another hash or size', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const bss = await makeApp({}, () => now);
  t.after(() => bss.close());
  const { data, scope } = file(1000);
  const params = { owner, project, hash: scope.hash, size: String(scope.size) };
  const path = singlePath('files', scope, { now });
  const refused = async (url: string, status: number, code: string) => {
    for (const method of ['PUT', 'POST'] as const) {
      const res = method === 'PUT' ? await put(bss, url, data) : await bss.app.inject({ method, url, payload: {} });
      assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
      assert.equal(res.json().error.code, code, `${method} ${url}`);
    }
    const complete = await bss.app.inject({
      method: 'POST',
      url: url.replace('/upload/single?', '/upload/single/complete?'),
      payload: { key: 'k' },
    });
    assert.equal(complete.json().error.code, code, `complete ${url}`);
  };

  await refused(`/files/upload/single?${new URLSearchParams(params)}`, 401, 'missing_signature');
  await refused(path.replace(/exp=\d+/, 'exp=soon'), 400, 'malformed_signature');
  await refused(path.replace(/sig=[0-9a-f]+/, `sig=${'0'.repeat(64)}`), 403, 'bad_signature');
  await refused(path.replace(`size=${scope.size}`, `size=${scope.size + 1}`), 403, 'bad_signature');
  await refused(path.replace(scope.hash, sha256(Buffer.from('other'))), 403, 'bad_signature');
  await refused(singlePath('files', scope, { now: now - 1000, ttl: 600 }), 403, 'expired_signature');
  await refused(
    singlePath('files', scope, { now, secret: 'another-secret-0123456789abcdef0123456789' }),
    403,
    'bad_signature',
  );
  // A multipart init URL of the same file: its action and its signed params differ.
  const initQuery = signedQuery('upload-init', { owner, project, hash: scope.hash }, { now });
  await refused(`/files/upload/single?${initQuery}&size=${scope.size}`, 403, 'bad_signature');
  await refused(`/files/upload/single?${signedQuery('upload-init', params, { now })}`, 403, 'bad_signature');
  // And the other way round: a single-shot URL opens no multipart route.
  const init = await bss.app.inject({
    method: 'POST',
    url: path.replace('/upload/single?', '/upload/multipart/init?'),
    payload: {},
  });
  assert.equal(init.json().error.code, 'bad_signature');
  assert.equal((await put(bss, path.replace('/files/', '/nope/'), data)).statusCode, 404);
  assert.deepEqual(await stagedFiles(bss.dir), []);
  assert.deepEqual(await blobsOf(bss), []);

  // A valid URL for another file: its hash or its size does not fit these bytes.
  const otherHash = await put(
    bss,
    singlePath('files', { ...scope, hash: sha256(Buffer.from('other')) }, { now }),
    data,
  );
  assert.equal(otherHash.statusCode, 422);
  assert.equal(otherHash.json().error.code, 'hash_mismatch');
  const otherSize = await put(bss, singlePath('files', { ...scope, size: scope.size + 1 }, { now }), data);
  assert.equal(otherSize.statusCode, 400);
  assert.equal(otherSize.json().error.code, 'invalid_part');
  assert.deepEqual(await stagedFiles(bss.dir), []);
  assert.deepEqual(await blobsOf(bss), []);
});

test('a body longer than the signed size is 413 too_large, declared or streamed, and leaves nothing', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const { data, scope } = file(1000);
  const url = singlePath('files', scope);
  const longer = Buffer.concat([data, Buffer.from('!')]);

  const declared = await put(bss, url, longer);
  assert.equal(declared.statusCode, 413);
  assert.equal(declared.json().error.code, 'too_large');
  assert.equal(declared.headers.connection, 'close');
  const streamed = await put(bss, url, Readable.from([data.subarray(0, 600), longer.subarray(600)]));
  assert.equal(streamed.statusCode, 413);
  assert.equal(streamed.json().error.code, 'too_large');
  assert.deepEqual(await stagedFiles(bss.dir), []);
  assert.deepEqual(await blobsOf(bss), []);

  const huge = singlePath('files', { ...scope, size: 5 * 1024 ** 3 + 1 });
  const big = await put(bss, huge, data);
  assert.equal(big.statusCode, 413, 'a single-shot upload is at most 5 GiB');
  assert.equal(big.json().error.code, 'too_large');
});

test('a body shorter than the signed size is 400 invalid_part and leaves nothing', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const { data, scope } = file(1000);
  const url = singlePath('files', scope);
  const declared = await put(bss, url, data.subarray(1));
  assert.equal(declared.statusCode, 400);
  assert.equal(declared.json().error.code, 'invalid_part');
  const streamed = await put(bss, url, Readable.from([data.subarray(0, 500), data.subarray(500, 999)]));
  assert.equal(streamed.statusCode, 400);
  assert.equal(streamed.json().error.code, 'invalid_part');
  assert.deepEqual(await stagedFiles(bss.dir), []);
  assert.deepEqual(await blobsOf(bss), []);
});

test('a body with another SHA-256 is 422 hash_mismatch and leaves nothing in the data folder', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const { data, scope } = file();
  const res = await put(bss, singlePath('videos', scope), flipFirst(data));
  assert.equal(res.statusCode, 422);
  assert.equal(res.json().error.code, 'hash_mismatch');
  assert.deepEqual(await stagedFiles(bss.dir), []);
  assert.deepEqual(await blobsOf(bss), []);
  assert.deepEqual(await readdir(join(bss.dir, 'bss', 'uploads')).catch(() => []), []);
});

test('the Content-Type header is the blob type: validated, application/octet-stream by default', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const { data, scope } = file(100);
  for (const type of ['not a type', `image/${'x'.repeat(300)}`]) {
    const bad = await put(bss, singlePath('files', scope), data, { 'content-type': type });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'invalid_request');
    assert.equal(bad.headers.connection, 'close', 'refused before the body was read');
  }
  assert.deepEqual(await blobsOf(bss), []);
  const plain = await bss.app.inject({ method: 'PUT', url: singlePath('files', scope), payload: data });
  assert.equal(plain.statusCode, 200, plain.body);
  assert.equal(plain.json().contentType, 'application/octet-stream');
});

test('PUT of a blob already stored reads the body, drops it and answers the stored blob', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const { data, scope } = file();
  const first = await put(bss, singlePath('image', scope), data);
  assert.equal(first.statusCode, 200);
  const again = await put(bss, singlePath('image', scope), data, { 'content-type': 'image/jpeg' });
  assert.equal(again.statusCode, 200);
  assert.equal(again.json().contentType, 'image/png', 'the stored blob answers');
  const { receipt: _again, ...answer } = again.json() as Record<string, unknown>;
  const { receipt: _first, ...firstAnswer } = first.json() as Record<string, unknown>;
  assert.deepEqual(answer, firstAnswer);
  assert.deepEqual(await stagedFiles(bss.dir), []);
  assert.deepEqual(await blobsOf(bss), [scope.hash]);
});

test('an empty file is a single-shot upload too', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const { data, scope } = file(0);
  const res = await put(bss, singlePath('labels', scope), data);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().size, 0);
});

test('POST answers mode put with the URL itself and the largest body it takes; complete on the disk backend is 409', async (t) => {
  const bss = await makeApp({ BSS_PUBLIC_URL: 'https://bss.example.com/base' });
  t.after(() => bss.close());
  const { data, scope } = file();
  const path = singlePath('image', scope);
  const res = await bss.app.inject({ method: 'POST', url: path, payload: { contentType: 'image/png' } });
  assert.equal(res.statusCode, 200, res.body);
  // Every single-shot body, up to the 5 GiB of one part, goes to the disk backend by PUT.
  assert.deepEqual(res.json(), { mode: 'put', url: `https://bss.example.com/base${path}`, maxSize: 5 * 1024 ** 3 });
  const empty = await bss.app.inject({ method: 'POST', url: path });
  assert.deepEqual(empty.json(), res.json(), 'the body may be left out');
  const badType = await bss.app.inject({ method: 'POST', url: path, payload: { contentType: 'nope' } });
  assert.equal(badType.json().error.code, 'invalid_request');
  assert.equal((await put(bss, pathOf(res.json().url).replace('/base', ''), data)).statusCode, 200);

  const completePath = path.replace('/upload/single?', '/upload/single/complete?');
  const key = `uploads/${owner}/${project}/${scope.hash}/single-0123456789abcdef`;
  const complete = await bss.app.inject({ method: 'POST', url: completePath, payload: { key } });
  assert.equal(complete.statusCode, 409);
  assert.equal(complete.json().error.code, 'conflict');
  const foreign = await bss.app.inject({
    method: 'POST',
    url: completePath,
    payload: { key: key.replace(owner, 'mallory') },
  });
  assert.equal(foreign.statusCode, 403);
  assert.equal(foreign.json().error.code, 'scope_mismatch');
});

test("a browser's simple POST to …/single/body publishes as the PUT does, the blob's type from the query; a wrong body or signature publishes nothing", async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const body = (path: string, type?: string) =>
    `${path.replace('/upload/single?', '/upload/single/body?')}${type === undefined ? '' : `&contentType=${encodeURIComponent(type)}`}`;
  const post = (url: string, payload: Buffer) =>
    bss.app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'text/plain;charset=UTF-8' } });

  const { data, scope } = file(30_000);
  const res = await post(body(singlePath('image', scope), 'image/png'), data);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().hash, scope.hash);
  assert.equal(res.json().contentType, 'image/png', 'the type is the query’s, not the text/plain of the request');
  const ref = { owner, project, hash: scope.hash };
  const download = await bss.app.inject({ method: 'GET', url: `/blobs/download?${signedQuery('download', ref)}` });
  assert.ok(download.rawPayload.equals(data));
  assert.equal(download.headers['content-type'], 'image/png');

  // No contentType: application/octet-stream, as a PUT without the header.
  const bare = file(2_000);
  const untyped = await post(body(singlePath('files', bare.scope)), bare.data);
  assert.equal(untyped.json().contentType, 'application/octet-stream', untyped.body);

  const before = await blobsOf(bss);
  const other = file(10_000);
  const forged = await post(body(singlePath('files', other.scope), 'image/png'), flipFirst(other.data));
  assert.equal(forged.statusCode, 422, forged.body);
  assert.equal(forged.json().error.code, 'hash_mismatch');
  const badType = await post(body(singlePath('files', other.scope), 'not a type'), other.data);
  assert.equal(badType.statusCode, 400, badType.body);
  assert.equal(badType.json().error.code, 'invalid_request');
  const longer = await post(body(singlePath('files', other.scope)), Buffer.concat([other.data, Buffer.from('x')]));
  assert.equal(longer.statusCode, 413, longer.body);
  const unsigned = await post(
    `/files/upload/single/body?owner=${owner}&project=${project}&hash=${other.scope.hash}&size=${other.scope.size}`,
    other.data,
  );
  assert.equal(unsigned.statusCode, 401, unsigned.body);
  const otherAction = await post(
    `/files/upload/single/body?${signedQuery('upload-init', { ...other.scope, size: String(other.scope.size) })}`,
    other.data,
  );
  assert.equal(otherAction.statusCode, 403, otherAction.body);
  assert.deepEqual(await blobsOf(bss), before, 'none of the refused bodies was published');
  assert.deepEqual(await stagedFiles(bss.dir), []);
});

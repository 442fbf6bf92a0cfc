import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { makeApp, md5hex, pathOf, sha256, signedQuery, type TestApp, uploadPaths } from './helpers.ts';

const owner = 'alice';
const project = 'robotics';

async function openUpload(bss: TestApp, data: Buffer, size?: number) {
  const hash = sha256(data);
  const paths = uploadPaths('videos', { owner, project, hash });
  const init = await bss.app.inject({
    method: 'POST',
    url: paths.init,
    payload: { contentType: 'video/mp4', ...(size !== undefined ? { size } : {}) },
  });
  const { uploadId, key } = init.json() as { uploadId: string; key: string };
  const partUrl = async (n: number, contentMd5?: Record<string, string>) => {
    const res = await bss.app.inject({
      method: 'POST',
      url: paths.parts,
      payload: { uploadId, key, partNumbers: [n], ...(contentMd5 ? { contentMd5 } : {}) },
    });
    assert.equal(res.statusCode, 200, res.body);
    return pathOf(res.json().parts[String(n)]);
  };
  const listed = async () => bss.storage.listParts({ uploadId, key });
  return { hash, paths, uploadId, key, partUrl, listed };
}

/** Files in the upload's folder that are not finished parts (e.g. temporaries). */
async function leftovers(bss: TestApp, key: string): Promise<string[]> {
  const dir = join(bss.dir, 'bss', key, 'data');
  return (await readdir(dir).catch(() => [] as string[])).filter((name) => name.includes('.tmp-'));
}

test('a part PUT answers the quoted MD5 as ETag and replaces an earlier body of that part', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const up = await openUpload(bss, randomBytes(10));
  const url = await up.partUrl(3);
  for (const body of [randomBytes(1000), randomBytes(2000)]) {
    const res = await bss.app.inject({
      method: 'PUT',
      url,
      payload: body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers.etag, `"${md5hex(body)}"`);
    assert.deepEqual(await up.listed(), [{ partNumber: 3, etag: `"${md5hex(body)}"`, size: body.length }]);
  }
  const other = await bss.app.inject({
    method: 'PUT',
    url,
    payload: Buffer.from('x'),
    headers: { 'content-type': 'text/plain' },
  });
  assert.equal(other.statusCode, 200, 'any content type is taken as raw bytes');
});

test('part URLs: unsigned 401, tampered part number 403, expired 403, aborted upload 404', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const bss = await makeApp({}, () => now);
  t.after(() => bss.close());
  const up = await openUpload(bss, randomBytes(10));
  const url = await up.partUrl(1);
  const put = (u: string) => bss.app.inject({ method: 'PUT', url: u, payload: Buffer.from('abc') });

  const unsigned = await put(url.replace(/&sig=[0-9a-f]+/, '').replace(/&exp=\d+/, ''));
  assert.equal(unsigned.statusCode, 401);
  assert.equal(unsigned.json().error.code, 'missing_signature');
  const tampered = await put(url.replace('partNumber=1', 'partNumber=2'));
  assert.equal(tampered.statusCode, 403);
  assert.equal(tampered.json().error.code, 'bad_signature');
  const bigger = await put(url.replace(/maxLength=\d+/, 'maxLength=99'));
  assert.equal(bigger.json().error.code, 'bad_signature');
  const params = {
    owner,
    project,
    hash: up.hash,
    uploadId: up.uploadId,
    partNumber: '1',
    maxLength: '100',
    contentMd5: '',
  };
  const late = await put(`/upload/part?${signedQuery('upload-part', params, { now: now - 1000, ttl: 600 })}`);
  assert.equal(late.statusCode, 403);
  assert.equal(late.json().error.code, 'expired_signature');
  // A URL signed for another action does not open the part route.
  const initQuery = `/upload/part?${signedQuery('upload-init', params, { now })}`;
  assert.equal((await put(initQuery)).json().error.code, 'bad_signature');
  assert.deepEqual(await up.listed(), []);

  await bss.app.inject({ method: 'POST', url: up.paths.abort, payload: { uploadId: up.uploadId, key: up.key } });
  const gone = await put(url);
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.json().error.code, 'not_found');
});

test('a part over the signed maxLength is 413 too_large and leaves no part, declared or streamed', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const up = await openUpload(bss, randomBytes(10), 1000);
  const url = await up.partUrl(1);
  assert.match(url, /maxLength=1000/, 'the declared size bounds the part URL');

  const declared = await bss.app.inject({ method: 'PUT', url, payload: randomBytes(1001) });
  assert.equal(declared.statusCode, 413);
  assert.equal(declared.json().error.code, 'too_large');
  assert.equal(declared.headers.connection, 'close');

  const streamed = await bss.app.inject({
    method: 'PUT',
    url,
    payload: Readable.from([randomBytes(600), randomBytes(600)]),
  });
  assert.equal(streamed.statusCode, 413);
  assert.deepEqual(await up.listed(), []);
  assert.deepEqual(await leftovers(bss, up.key), []);

  const fits = await bss.app.inject({ method: 'PUT', url, payload: randomBytes(1000) });
  assert.equal(fits.statusCode, 200);
});

/** A refused digest: 400 invalid_part with the BadDigest reason, in the one error shape. */
function assertBadDigest(res: { statusCode: number; body: string; json(): unknown }): void {
  assert.equal(res.statusCode, 400, res.body);
  const { error } = res.json() as { error: { code: string; reason?: string; message: string } };
  assert.equal(error.code, 'invalid_part', res.body);
  assert.equal(error.reason, 'BadDigest', res.body);
  assert.equal(typeof error.message, 'string');
}

test('Content-MD5: a body that does not match is 400 invalid_part (BadDigest) and leaves no part', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const up = await openUpload(bss, randomBytes(10));
  const body = randomBytes(4096);
  const md5 = createHash('md5').update(body).digest('base64');

  // Declared by the client only.
  const free = await up.partUrl(1);
  const wrong = await bss.app.inject({
    method: 'PUT',
    url: free,
    payload: randomBytes(4096),
    headers: { 'content-md5': md5 },
  });
  assertBadDigest(wrong);
  assert.deepEqual(await up.listed(), []);
  assert.deepEqual(await leftovers(bss, up.key), [], 'a refused body left a file');
  assert.equal(
    (await bss.app.inject({ method: 'PUT', url: free, payload: body, headers: { 'content-md5': md5 } })).statusCode,
    200,
  );

  // Bound into the URL: the body must match even when the header is left out.
  const bound = await up.partUrl(2, { '2': md5 });
  const unbound = await bss.app.inject({ method: 'PUT', url: bound, payload: randomBytes(4096) });
  assertBadDigest(unbound);
  assert.deepEqual(
    (await up.listed())?.map((p) => p.partNumber),
    [1],
    'a body refused against the bound MD5 was stored',
  );
  assert.deepEqual(await leftovers(bss, up.key), [], 'a refused body left a file');
  const otherHeader = await bss.app.inject({
    method: 'PUT',
    url: bound,
    payload: body,
    headers: { 'content-md5': createHash('md5').update('x').digest('base64') },
  });
  assertBadDigest(otherHeader);
  assert.deepEqual(
    (await up.listed())?.map((p) => p.partNumber),
    [1],
    'a body sent with another MD5 than the bound one was stored',
  );
  assert.equal((await bss.app.inject({ method: 'PUT', url: bound, payload: body })).statusCode, 200);
  assert.deepEqual(
    (await up.listed())?.map((p) => p.partNumber),
    [1, 2],
  );
  assert.deepEqual(await leftovers(bss, up.key), []);
});

test('a cut-off part PUT leaves no part and no temporary file', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const up = await openUpload(bss, randomBytes(10));
  const url = await up.partUrl(1);
  const address = await bss.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = new URL(address);

  const socket = connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    `PUT ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${8 * 1024 * 1024}\r\n\r\n`,
  );
  socket.write(randomBytes(3 * 1024 * 1024));
  // Let the server start writing the part, then cut the connection.
  let writing = false;
  for (let i = 0; i < 250 && !writing; i += 1) {
    writing = (await leftovers(bss, up.key)).length > 0;
    if (!writing) await new Promise((r) => setTimeout(r, 20));
  }
  // Otherwise "nothing left" below would prove nothing.
  assert.ok(writing, 'the server began writing the part before the connection was cut');
  socket.destroy();

  let left: string[] = ['?'];
  for (let i = 0; i < 100 && left.length > 0; i += 1) {
    await new Promise((r) => setTimeout(r, 20));
    left = await leftovers(bss, up.key);
  }
  assert.deepEqual(left, []);
  assert.deepEqual(await up.listed(), []);
  const data = await readdir(join(bss.dir, 'bss', up.key, 'data')).catch(() => []);
  assert.deepEqual(data, [], 'no part bytes were kept');
});

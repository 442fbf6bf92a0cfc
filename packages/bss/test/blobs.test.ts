import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildBssApp } from '../src/app.ts';
import { makeApp, sendParts, sha256, signedQuery, uploadPaths } from './helpers.ts';

const owner = 'dana';
const project = 'films';

async function withBlob() {
  const bss = await makeApp();
  const data = randomBytes(10_000);
  const hash = sha256(data);
  const paths = uploadPaths('videos', { owner, project, hash });
  const sent = await sendParts(bss.app, paths, data, 'video/mp4');
  const res = await bss.app.inject({
    method: 'POST',
    url: paths.complete,
    payload: { uploadId: sent.uploadId, key: sent.key, parts: sent.etags },
  });
  assert.equal(res.statusCode, 200);
  return { bss, data, hash, scope: { owner, project, hash } };
}

test('stat answers the verified blob, 404 when absent, and wants its own signature', async (t) => {
  const { bss, hash, scope } = await withBlob();
  t.after(() => bss.close());
  const res = await bss.app.inject({ method: 'GET', url: `/blobs/stat?${signedQuery('stat', scope)}` });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { owner, project, hash, size: 10_000, contentType: 'video/mp4' });
  const absent = await bss.app.inject({
    method: 'GET',
    url: `/blobs/stat?${signedQuery('stat', { ...scope, hash: 'e'.repeat(64) })}`,
  });
  assert.equal(absent.statusCode, 404);
  assert.equal(absent.json().error.code, 'not_found');
  const downloadSig = await bss.app.inject({ method: 'GET', url: `/blobs/stat?${signedQuery('download', scope)}` });
  assert.equal(downloadSig.json().error.code, 'bad_signature');
  assert.equal(
    (await bss.app.inject({ method: 'GET', url: `/blobs/stat?${new URLSearchParams(scope)}` })).statusCode,
    401,
  );
});

test('download streams the blob with its type, length and ETag, and serves byte ranges', async (t) => {
  const { bss, data, hash, scope } = await withBlob();
  t.after(() => bss.close());
  const url = `/blobs/download?${signedQuery('download', scope)}`;
  const whole = await bss.app.inject({ method: 'GET', url });
  assert.equal(whole.statusCode, 200);
  assert.deepEqual(whole.rawPayload, data);
  assert.equal(whole.headers['content-type'], 'video/mp4');
  assert.equal(whole.headers['content-length'], '10000');
  assert.equal(whole.headers.etag, `"${hash}"`);
  assert.equal(whole.headers['accept-ranges'], 'bytes');
  // A blob is always a download, never a page rendered on BSS's origin.
  assert.equal(whole.headers['content-disposition'], 'attachment');
  assert.match(String(whole.headers['content-security-policy']), /^sandbox/);

  const cases: [string, number, number][] = [
    ['bytes=0-99', 0, 99],
    ['bytes=9990-', 9990, 9999],
    ['bytes=-10', 9990, 9999],
    ['bytes=9000-20000', 9000, 9999],
  ];
  for (const [range, start, end] of cases) {
    const res = await bss.app.inject({ method: 'GET', url, headers: { range } });
    assert.equal(res.statusCode, 206, range);
    assert.equal(res.headers['content-range'], `bytes ${start}-${end}/10000`);
    assert.equal(res.headers['content-length'], String(end - start + 1));
    assert.deepEqual(res.rawPayload, data.subarray(start, end + 1), range);
  }
  const head = await bss.app.inject({ method: 'HEAD', url });
  assert.equal(head.statusCode, 200);
  assert.equal(head.headers['content-length'], '10000');
  assert.equal(head.headers.etag, `"${hash}"`);
  assert.equal(head.rawPayload.length, 0);
  const unsatisfiable = await bss.app.inject({ method: 'GET', url, headers: { range: 'bytes=10000-' } });
  assert.equal(unsatisfiable.statusCode, 416);
  assert.equal(unsatisfiable.headers['content-range'], 'bytes */10000');
  const absent = await bss.app.inject({
    method: 'GET',
    url: `/blobs/download?${signedQuery('download', { ...scope, hash: 'e'.repeat(64) })}`,
  });
  assert.equal(absent.statusCode, 404);
  const unsigned = await bss.app.inject({ method: 'GET', url: `/blobs/download?${new URLSearchParams(scope)}` });
  assert.equal(unsigned.statusCode, 401);
});

test('an upload that is not completed is never served', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const data = randomBytes(100);
  const scope = { owner, project, hash: sha256(data) };
  await sendParts(bss.app, uploadPaths('videos', scope), data);
  // Every way a blob is served: stat, download (whole, a range, HEAD), and the storage itself.
  const download = `/blobs/download?${signedQuery('download', scope)}`;
  const answers = {
    stat: await bss.app.inject({ method: 'GET', url: `/blobs/stat?${signedQuery('stat', scope)}` }),
    download: await bss.app.inject({ method: 'GET', url: download }),
    range: await bss.app.inject({ method: 'GET', url: download, headers: { range: 'bytes=0-9' } }),
    head: await bss.app.inject({ method: 'HEAD', url: download }),
  };
  for (const [way, res] of Object.entries(answers)) {
    assert.equal(res.statusCode, 404, `${way}: ${res.statusCode} ${res.body}`);
    if (way !== 'head') assert.equal(res.json().error.code, 'not_found', way);
  }
  assert.equal(await bss.storage.stat(scope), null);
  await assert.rejects(bss.storage.read(scope), { code: 'not_found' });
});

test('lambda verify re-hashes a stored blob and reports a changed one', async (t) => {
  const { bss, hash, scope } = await withBlob();
  t.after(() => bss.close());
  const url = () => `/lambda/verify?${signedQuery('lambda-verify', scope)}`;
  const ok = await bss.app.inject({ method: 'POST', url: url() });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json(), { ok: true, hash, actualHash: hash, size: 10_000 });

  const file = join(bss.dir, 'bss', 'blobs', owner, project, hash, '0');
  const bytes = await readFile(file);
  bytes[0] = (bytes[0]! + 1) % 256;
  await writeFile(file, bytes);
  const changed = await bss.app.inject({ method: 'POST', url: url() });
  assert.equal(changed.json().ok, false);
  assert.equal(changed.json().actualHash, sha256(bytes));

  const absent = await bss.app.inject({
    method: 'POST',
    url: `/lambda/verify?${signedQuery('lambda-verify', { ...scope, hash: 'e'.repeat(64) })}`,
  });
  assert.equal(absent.statusCode, 404);
  const unknown = await bss.app.inject({ method: 'POST', url: `/lambda/probe?${signedQuery('lambda-probe', scope)}` });
  assert.equal(unknown.statusCode, 404);
  const wrongAction = await bss.app.inject({ method: 'POST', url: `/lambda/verify?${signedQuery('download', scope)}` });
  assert.equal(wrongAction.statusCode, 403);
  assert.equal(
    (await bss.app.inject({ method: 'POST', url: `/lambda/verify?${new URLSearchParams(scope)}` })).statusCode,
    401,
  );
});

test('a backend with direct downloads answers the download with a 302, after checking the blob exists', async (t) => {
  const { bss, scope } = await withBlob();
  t.after(() => bss.close());
  const direct = Object.assign(Object.create(bss.storage) as object, {
    downloadUrl: async (blob: { hash: string }, seconds: number) =>
      `https://bucket.example.com/${blob.hash}?X-Amz-Expires=${seconds}`,
  }) as unknown as typeof bss.storage;
  const app = await buildBssApp({ config: bss.config, storage: direct });
  t.after(() => app.close());
  const res = await app.inject({ method: 'GET', url: `/blobs/download?${signedQuery('download', scope)}` });
  assert.equal(res.statusCode, 302);
  assert.match(
    String(res.headers.location),
    new RegExp(`^https://bucket.example.com/${scope.hash}\\?X-Amz-Expires=(599|600)$`),
  );
  const absent = await app.inject({
    method: 'GET',
    url: `/blobs/download?${signedQuery('download', { ...scope, hash: 'e'.repeat(64) })}`,
  });
  assert.equal(absent.statusCode, 404);
});

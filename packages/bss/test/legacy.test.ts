import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { makeApp, pathOf, sha256, uploadPaths } from './helpers.ts';

const base = '/labels/upload/multipart';

async function legacyUpload(bss: Awaited<ReturnType<typeof makeApp>>, data: Buffer, hash: string) {
  const init = await bss.app.inject({
    method: 'POST',
    url: `${base}/init`,
    payload: { owner: 'carol', project: 'old-space', hash, contentType: 'application/jsonl' },
  });
  assert.equal(init.statusCode, 200, init.body);
  const { uploadId, key } = init.json();
  const parts = await bss.app.inject({
    method: 'POST',
    url: `${base}/parts`,
    payload: { uploadId, key, partNumbers: [1] },
  });
  assert.equal(parts.statusCode, 200, parts.body);
  const put = await bss.app.inject({ method: 'PUT', url: pathOf(parts.json().parts['1']), payload: data });
  assert.equal(put.statusCode, 200, put.body);
  const done = await bss.app.inject({
    method: 'GET',
    url: `${base}/parts-done?${new URLSearchParams({ uploadId, key })}`,
  });
  assert.equal(done.statusCode, 200);
  assert.equal(done.json().parts.length, 1);
  // Existing clients strip the quotes from ETags.
  const etag = String(put.headers.etag).replaceAll('"', '');
  return {
    uploadId,
    key,
    complete: () =>
      bss.app.inject({
        method: 'POST',
        url: `${base}/complete`,
        payload: { uploadId, key, parts: [{ partNumber: 1, etag }] },
      }),
  };
}

test('REQUIRE_PRESIGNED_UPLOADS=false serves the legacy unsigned flow with a 16-hex hash', async (t) => {
  const bss = await makeApp({ REQUIRE_PRESIGNED_UPLOADS: 'false' });
  t.after(() => bss.close());
  const data = randomBytes(3000);
  const full = sha256(data);
  const up = await legacyUpload(bss, data, full.slice(0, 16));
  const res = await up.complete();
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().hash, full);
  assert.equal(res.json().receipt, undefined, 'a legacy 16-hex upload gets no receipt');
  assert.equal((await bss.storage.stat({ owner: 'carol', project: 'old-space', hash: full }))?.size, 3000);

  const full64 = await legacyUpload(bss, data, full);
  assert.equal((await full64.complete()).statusCode, 200, 'a full hash works too');
});

test('legacy mode still verifies the 16-hex prefix at complete', async (t) => {
  const bss = await makeApp({ REQUIRE_PRESIGNED_UPLOADS: 'false' });
  t.after(() => bss.close());
  const data = randomBytes(3000);
  const up = await legacyUpload(bss, data, sha256(Buffer.from('other')).slice(0, 16));
  const res = await up.complete();
  assert.equal(res.statusCode, 422);
  assert.equal(res.json().error.code, 'hash_mismatch');
});

test('legacy mode: a request that carries a signature is still verified; malformed legacy input is 400', async (t) => {
  const bss = await makeApp({ REQUIRE_PRESIGNED_UPLOADS: 'false' });
  t.after(() => bss.close());
  const scope = { owner: 'carol', project: 'old-space', hash: 'a'.repeat(64) };
  const forged = uploadPaths('labels', scope, { secret: 'not-the-secret-0123456789abcdef0123456789' });
  const res = await bss.app.inject({ method: 'POST', url: forged.init, payload: { contentType: 'text/plain' } });
  assert.equal(res.statusCode, 403);
  assert.equal(res.json().error.code, 'bad_signature');
  const expOnly = await bss.app.inject({
    method: 'POST',
    url: `${base}/init?exp=1`,
    payload: { ...scope, contentType: 'text/plain' },
  });
  // Half a signature is not "unsigned": it is refused as a malformed one.
  assert.equal(expOnly.statusCode, 400);
  assert.equal(expOnly.json().error.code, 'malformed_signature');

  const good = uploadPaths('labels', scope);
  assert.equal(
    (await bss.app.inject({ method: 'POST', url: good.init, payload: {} })).statusCode,
    200,
    'signed requests work in legacy mode',
  );

  for (const payload of [
    { project: 'p', hash: scope.hash, contentType: 'text/plain' },
    { owner: 'Carol', project: 'p', hash: scope.hash },
    { owner: 'carol', project: 'p', hash: 'abc' },
    { owner: '../x', project: 'p', hash: scope.hash },
  ]) {
    const bad = await bss.app.inject({ method: 'POST', url: `${base}/init`, payload });
    assert.equal(bad.statusCode, 400, JSON.stringify(payload));
    assert.equal(bad.json().error.code, 'invalid_request');
  }
  const badKey = await bss.app.inject({
    method: 'POST',
    url: `${base}/abort`,
    payload: { uploadId: 'a'.repeat(32), key: '../../etc/passwd' },
  });
  assert.equal(badKey.statusCode, 400);
});

test('REQUIRE_PRESIGNED_UPLOADS=true (the default) refuses every unsigned legacy request with 401', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  assert.equal(bss.config.requirePresignedUploads, true);
  const data = randomBytes(100);
  const calls = [
    {
      method: 'POST' as const,
      url: `${base}/init`,
      payload: { owner: 'carol', project: 'p', hash: sha256(data), contentType: 'text/plain' },
    },
    {
      method: 'POST' as const,
      url: `${base}/parts`,
      payload: { uploadId: 'a'.repeat(32), key: `uploads/carol/p/${sha256(data)}/${'a'.repeat(32)}`, partNumbers: [1] },
    },
    { method: 'GET' as const, url: `${base}/parts-done?uploadId=a&key=b` },
    { method: 'POST' as const, url: `${base}/complete`, payload: {} },
    { method: 'POST' as const, url: `${base}/abort`, payload: {} },
  ];
  for (const call of calls) {
    const res = await bss.app.inject(call);
    assert.equal(res.statusCode, 401, call.url);
    assert.equal(res.json().error.code, 'missing_signature');
  }
});

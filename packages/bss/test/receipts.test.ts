import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { verifyReceipt } from '@dreamlake/presign';
import { makeApp, SECRET, sendParts, sha256, singlePath, uploadPaths } from './helpers.ts';

const owner = 'gina';
const project = 'maps';

/** The code a receipt check throws. */
function codeOf(check: () => unknown): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

test('complete and single-shot answers carry a receipt the server can check with its secrets alone', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const bss = await makeApp({ PRESIGN_TTL_SECONDS: '120' }, () => now);
  t.after(() => bss.close());

  const data = randomBytes(3000);
  const scope = { owner, project, hash: sha256(data) };
  const paths = uploadPaths('tracks', scope, { now, ttl: 120 });
  const sent = await sendParts(bss.app, paths, data, 'application/json');
  const complete = await bss.app.inject({
    method: 'POST',
    url: paths.complete,
    payload: { uploadId: sent.uploadId, key: sent.key, parts: sent.etags },
  });
  const { receipt } = complete.json();
  assert.equal(receipt.exp, now + 120, 'a receipt lives as long as a presigned URL');
  assert.deepEqual(verifyReceipt([SECRET], scope, receipt, now), { size: 3000, contentType: 'application/json' });
  assert.equal(
    codeOf(() => verifyReceipt([SECRET], scope, receipt, now + 121)),
    'expired_signature',
  );
  assert.equal(
    codeOf(() => verifyReceipt([SECRET], { ...scope, project: 'other' }, receipt, now)),
    'bad_signature',
  );
  assert.equal(
    codeOf(() => verifyReceipt([SECRET], { ...scope, hash: sha256(Buffer.from('x')) }, receipt, now)),
    'bad_signature',
  );
  assert.equal(
    codeOf(() => verifyReceipt([SECRET], scope, { ...receipt, size: 3001 }, now)),
    'bad_signature',
  );
  assert.equal(
    codeOf(() => verifyReceipt([SECRET], scope, { ...receipt, contentType: 'text/html' }, now)),
    'bad_signature',
  );

  const single = randomBytes(500);
  const singleScope = { owner, project, hash: sha256(single) };
  const res = await bss.app.inject({
    method: 'PUT',
    url: singlePath('tracks', { ...singleScope, size: 500 }, { now, ttl: 120 }),
    payload: single,
    headers: { 'content-type': 'text/csv' },
  });
  assert.deepEqual(verifyReceipt([SECRET], singleScope, res.json().receipt, now), {
    size: 500,
    contentType: 'text/csv',
  });
});

test('init answers exists with a receipt when the verified blob is stored, and still opens the upload', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const data = randomBytes(2000);
  const scope = { owner, project, hash: sha256(data) };
  const paths = uploadPaths('files', scope);

  const fresh = await bss.app.inject({ method: 'POST', url: paths.init, payload: { contentType: 'text/plain' } });
  assert.deepEqual(
    Object.keys(fresh.json()).sort(),
    ['key', 'partCheck', 'uploadId'],
    'nothing stored yet: a plain init answer (no exists, no receipt)',
  );

  const put = await bss.app.inject({
    method: 'PUT',
    url: singlePath('files', { ...scope, size: 2000 }),
    payload: data,
    headers: { 'content-type': 'text/plain' },
  });
  assert.equal(put.statusCode, 200, put.body);

  const again = await bss.app.inject({ method: 'POST', url: paths.init, payload: { contentType: 'application/pdf' } });
  assert.equal(again.statusCode, 200);
  const answer = again.json();
  assert.equal(answer.exists, true);
  assert.deepEqual(verifyReceipt([SECRET], scope, answer.receipt, Math.floor(Date.now() / 1000)), {
    size: 2000,
    contentType: 'text/plain',
  });
  assert.deepEqual(
    await bss.storage.listParts({ uploadId: answer.uploadId, key: answer.key }),
    [],
    'the upload was opened all the same',
  );
  // Another space does not hold it.
  const elsewhere = await bss.app.inject({
    method: 'POST',
    url: uploadPaths('files', { ...scope, project: 'elsewhere' }).init,
    payload: {},
  });
  assert.equal(elsewhere.json().exists, undefined);
});

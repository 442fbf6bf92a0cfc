import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { loadBssConfig } from '../src/config.ts';
import { makeApp, sendParts, sha256, signedQuery, testConfig, uploadPaths } from './helpers.ts';

const owner = 'alice';
const project = 'robotics';

test('BLOB_GC_GRACE_SECONDS defaults to a day (or twice PRESIGN_TTL_SECONDS) and may not be shorter than twice it', () => {
  const secrets = { PRESIGN_SECRETS: 'x'.repeat(32) };
  assert.equal(loadBssConfig(secrets).blobGcGraceSeconds, 86_400);
  assert.equal(loadBssConfig({ ...secrets, PRESIGN_TTL_SECONDS: String(3 * 86_400) }).blobGcGraceSeconds, 6 * 86_400);
  assert.equal(testConfig('/tmp', { BLOB_GC_GRACE_SECONDS: '7200' }).blobGcGraceSeconds, 7200);
  assert.throws(() => testConfig('/tmp', { BLOB_GC_GRACE_SECONDS: '7199' }), /BLOB_GC_GRACE_SECONDS/);
});

test('DELETE /blobs/delete deletes a blob published longer ago than the grace period, only with a delete signature', async (t) => {
  const clock = { now: Math.floor(Date.now() / 1000) };
  const bss = await makeApp({ BLOB_GC_GRACE_SECONDS: '7200' }, () => clock.now);
  t.after(() => bss.close());
  const data = randomBytes(2000);
  const scope = { owner, project, hash: sha256(data) };
  const paths = uploadPaths('files', scope, { now: clock.now });
  const sent = await sendParts(bss.app, paths, data, 'text/plain');
  const done = await bss.app.inject({
    method: 'POST',
    url: paths.complete,
    payload: { uploadId: sent.uploadId, key: sent.key, parts: sent.etags },
  });
  assert.equal(done.statusCode, 200, done.body);

  const signed = (action: string) => signedQuery(action, scope, { now: clock.now });
  const remove = (query: string) => bss.app.inject({ method: 'DELETE', url: `/blobs/delete?${query}` });
  const stat = () => bss.app.inject({ method: 'GET', url: `/blobs/stat?${signed('stat')}` });

  const recent = await remove(signed('delete'));
  assert.equal(recent.statusCode, 409, recent.body);
  assert.equal(recent.json().error.code, 'conflict');
  assert.equal((await stat()).statusCode, 200, 'a blob within the grace period is kept');

  // Well past the grace period, however long the upload above took.
  clock.now += 7200 + 3600;
  assert.equal((await remove('')).statusCode, 401);
  const wrongAction = await remove(signed('stat'));
  assert.equal(wrongAction.statusCode, 403);
  assert.equal(wrongAction.json().error.code, 'bad_signature');
  const otherBlob = signedQuery('delete', { ...scope, hash: sha256(randomBytes(4)) }, { now: clock.now });
  const tampered = otherBlob.replace(/hash=[0-9a-f]{64}/, `hash=${scope.hash}`);
  assert.equal((await remove(tampered)).statusCode, 403);
  assert.equal((await stat()).statusCode, 200, 'no refused request deleted anything');

  const deleted = await remove(signed('delete'));
  assert.equal(deleted.statusCode, 200, deleted.body);
  assert.deepEqual(deleted.json(), { deleted: true });
  assert.equal((await stat()).statusCode, 404);
  const download = await bss.app.inject({ method: 'GET', url: `/blobs/download?${signed('download')}` });
  assert.equal(download.statusCode, 404);
  const again = await remove(signed('delete'));
  assert.equal(again.statusCode, 404);
  assert.equal(again.json().error.code, 'not_found');
});

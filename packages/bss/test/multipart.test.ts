import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { verifyReceipt } from '@dreamlake/presign';
import { ASSET_TYPES } from '../src/asset-types.ts';
import { MiB, makeApp, SECRET, sendParts, sha256, uploadPaths } from './helpers.ts';

const owner = 'alice';
const project = 'robotics';

test('every asset type runs init, parts, parts-done and complete into a verified blob', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  for (const type of ASSET_TYPES) {
    const data = randomBytes(5 * MiB + 123);
    const hash = sha256(data);
    const paths = uploadPaths(type, { owner, project, hash });
    const { uploadId, key, etags } = await sendParts(bss.app, paths, data, 'video/mp4');
    assert.match(key, new RegExp(`^uploads/${owner}/${project}/${hash}/`));

    const done = await bss.app.inject({
      method: 'GET',
      url: `${paths.partsDone}&${new URLSearchParams({ uploadId, key })}`,
    });
    assert.equal(done.statusCode, 200);
    assert.deepEqual(done.json(), {
      expired: false,
      parts: etags.map((e, i) => ({ partNumber: e.partNumber, etag: e.etag, size: i === 0 ? 5 * MiB : 123 })),
    });

    const complete = await bss.app.inject({
      method: 'POST',
      url: paths.complete,
      payload: { uploadId, key, parts: etags },
    });
    assert.equal(complete.statusCode, 200, complete.body);
    const { receipt, ...answer } = complete.json();
    assert.deepEqual(answer, {
      success: true,
      key: `blobs/${owner}/${project}/${hash}`,
      hash,
      size: data.length,
      contentType: 'video/mp4',
    });
    assert.deepEqual(verifyReceipt([SECRET], { owner, project, hash }, receipt, Math.floor(Date.now() / 1000)), {
      size: data.length,
      contentType: 'video/mp4',
    });
    assert.equal((await bss.storage.stat({ owner, project, hash }))?.size, data.length, type);
  }
});

test('healthz answers ok with the backend, and responses carry Referrer-Policy', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const res = await bss.app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { ok: true, storage: 'fs' });
  assert.equal(res.headers['referrer-policy'], 'no-referrer');
});

test('unsigned, tampered, expired and wrong-action requests are refused with their codes', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const bss = await makeApp({}, () => now);
  t.after(() => bss.close());
  const hash = sha256(Buffer.from('x'));
  const scope = { owner, project, hash };

  const unsigned = await bss.app.inject({
    method: 'POST',
    url: `/videos/upload/multipart/init?${new URLSearchParams(scope)}`,
    payload: { contentType: 'video/mp4' },
  });
  assert.equal(unsigned.statusCode, 401);
  assert.equal(unsigned.json().error.code, 'missing_signature');

  const paths = uploadPaths('videos', scope, { now });
  const tampered = await bss.app.inject({
    method: 'POST',
    url: paths.init.replace('owner=alice', 'owner=mallory'),
    payload: {},
  });
  assert.equal(tampered.statusCode, 403);
  assert.equal(tampered.json().error.code, 'bad_signature');

  // Expired longer ago than the clock skew BSS allows.
  const expired = uploadPaths('videos', scope, { now: now - 1000, ttl: 600 });
  const late = await bss.app.inject({ method: 'POST', url: expired.init, payload: {} });
  assert.equal(late.statusCode, 403);
  assert.equal(late.json().error.code, 'expired_signature');

  const otherSecret = uploadPaths('videos', scope, { now, secret: 'another-secret-0123456789abcdef0123456789' });
  assert.equal(
    (await bss.app.inject({ method: 'POST', url: otherSecret.init, payload: {} })).json().error.code,
    'bad_signature',
  );

  // An init URL used on the complete endpoint.
  const wrongAction = await bss.app.inject({
    method: 'POST',
    url: paths.init.replace('/init?', '/complete?'),
    payload: {},
  });
  assert.equal(wrongAction.statusCode, 403);
  assert.equal(wrongAction.json().error.code, 'bad_signature');

  for (const res of [unsigned, tampered, late, wrongAction]) {
    assert.deepEqual(Object.keys(res.json()), ['error']);
    assert.doesNotMatch(res.body, /at .*\.ts:\d+/, 'no stack trace');
  }
});

test('an unknown asset type is 404 not_found', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const paths = uploadPaths('movies', { owner, project, hash: 'a'.repeat(64) });
  const res = await bss.app.inject({ method: 'POST', url: paths.init, payload: {} });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().error.code, 'not_found');
});

test('a body naming another owner, project or hash, or a key or uploadId outside the scope, is 403', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const hash = sha256(Buffer.from('mine'));
  const mine = uploadPaths('videos', { owner, project, hash });
  for (const echo of [{ owner: 'mallory' }, { project: 'other' }, { hash: 'b'.repeat(64) }]) {
    const res = await bss.app.inject({
      method: 'POST',
      url: mine.init,
      payload: { contentType: 'video/mp4', ...echo },
    });
    assert.equal(res.statusCode, 403, JSON.stringify(echo));
    assert.equal(res.json().error.code, 'scope_mismatch');
  }
  const same = await bss.app.inject({
    method: 'POST',
    url: mine.init,
    payload: { contentType: 'video/mp4', owner, project, hash },
  });
  assert.equal(same.statusCode, 200, 'repeating the signed scope is fine');
  const { uploadId, key } = same.json();

  // Someone else's upload, in another space.
  const theirsHash = sha256(Buffer.from('theirs'));
  const theirs = uploadPaths('videos', { owner: 'bob', project: 'secret', hash: theirsHash });
  const other = (await bss.app.inject({ method: 'POST', url: theirs.init, payload: {} })).json();

  const attempts = [
    { url: mine.parts, payload: { uploadId: other.uploadId, key: other.key, partNumbers: [1] } },
    {
      url: mine.complete,
      payload: { uploadId: other.uploadId, key: other.key, parts: [{ partNumber: 1, etag: 'x' }] },
    },
    { url: mine.abort, payload: { uploadId: other.uploadId, key: other.key } },
    { url: mine.abort, payload: { uploadId, key: key.replace(hash, 'c'.repeat(64)) } },
    { url: mine.abort, payload: { uploadId, key: `${key}/../../x` } },
    // The right key with another upload's id.
    { url: mine.parts, payload: { uploadId: other.uploadId, key, partNumbers: [1] } },
    { url: mine.abort, payload: { uploadId: other.uploadId, key } },
  ];
  for (const { url, payload } of attempts) {
    const res = await bss.app.inject({ method: 'POST', url, payload });
    assert.equal(res.statusCode, 403, `${url.split('?')[0]} ${JSON.stringify(payload)}: ${res.body}`);
    assert.equal(res.json().error.code, 'scope_mismatch');
  }
  const peek = await bss.app.inject({
    method: 'GET',
    url: `${mine.partsDone}&${new URLSearchParams({ uploadId: other.uploadId, key: other.key })}`,
  });
  assert.equal(peek.statusCode, 403);
  assert.equal(peek.json().error.code, 'scope_mismatch');
  // Their upload is untouched.
  assert.deepEqual(await bss.storage.listParts(other), []);
});

test('fields are validated: part numbers, uniqueness, counts, content types, body size', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const hash = sha256(Buffer.from('v'));
  const paths = uploadPaths('files', { owner, project, hash });
  const { uploadId, key } = (
    await bss.app.inject({ method: 'POST', url: paths.init, payload: { contentType: 'text/plain' } })
  ).json();
  const bad = [
    { url: paths.parts, payload: { uploadId, key, partNumbers: [0] } },
    { url: paths.parts, payload: { uploadId, key, partNumbers: [10001] } },
    { url: paths.parts, payload: { uploadId, key, partNumbers: [1, 1] } },
    { url: paths.parts, payload: { uploadId, key, partNumbers: [] } },
    { url: paths.parts, payload: { uploadId, key, partNumbers: [1.5] } },
    { url: paths.parts, payload: { uploadId, key, partNumbers: Array.from({ length: 10001 }, (_, i) => i + 1) } },
    { url: paths.parts, payload: { uploadId, key, partNumbers: [1], contentMd5: { '2': '1B2M2Y8AsgTpgAmY7PhCfg==' } } },
    {
      url: paths.complete,
      payload: {
        uploadId,
        key,
        parts: [
          { partNumber: 1, etag: 'a' },
          { partNumber: 1, etag: 'a' },
        ],
      },
    },
    { url: paths.complete, payload: { uploadId, key, parts: [] } },
    { url: paths.complete, payload: { uploadId: 'a b', key, parts: [{ partNumber: 1, etag: 'a' }] } },
    { url: paths.init, payload: { contentType: 'not a type' } },
    { url: paths.init, payload: { contentType: 'text/plain', size: -1 } },
    { url: paths.init, payload: { contentType: 'text/plain', filename: 'a\u0000b' } },
  ];
  for (const { url, payload } of bad) {
    const res = await bss.app.inject({ method: 'POST', url, payload });
    assert.equal(res.statusCode, 400, `${JSON.stringify(payload).slice(0, 120)}: ${res.body.slice(0, 200)}`);
    assert.equal(res.json().error.code, 'invalid_request');
  }
  const huge = await bss.app.inject({
    method: 'POST',
    url: paths.init,
    payload: { contentType: 'text/plain', size: 10_000 * 5 * 1024 ** 3 + 1 },
  });
  assert.equal(huge.statusCode, 413);
  const tooBig = await bss.app.inject({
    method: 'POST',
    url: paths.complete,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ uploadId, key, parts: [], pad: 'x'.repeat(1024 * 1024) }),
  });
  assert.equal(tooBig.statusCode, 413);
  assert.equal(tooBig.json().error.code, 'too_large');
  const many = await bss.app.inject({
    method: 'POST',
    url: paths.parts,
    payload: { uploadId, key, partNumbers: Array.from({ length: 10000 }, (_, i) => i + 1) },
  });
  assert.equal(many.statusCode, 200, 'exactly 10,000 part numbers are fine');
  assert.equal(Object.keys(many.json().parts).length, 10000);
});

test('abort discards the upload; parts-done then answers expired, as for unknown and swept ones', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const data = randomBytes(1000);
  const paths = uploadPaths('audio', { owner, project, hash: sha256(data) });
  const { uploadId, key } = await sendParts(bss.app, paths, data);
  const doneUrl = (id: string, k: string) => `${paths.partsDone}&${new URLSearchParams({ uploadId: id, key: k })}`;

  const abort = await bss.app.inject({ method: 'POST', url: paths.abort, payload: { uploadId, key } });
  assert.deepEqual(abort.json(), { success: true });
  assert.deepEqual((await bss.app.inject({ method: 'GET', url: doneUrl(uploadId, key) })).json(), {
    parts: [],
    expired: true,
  });
  const again = await bss.app.inject({ method: 'POST', url: paths.abort, payload: { uploadId, key } });
  assert.equal(again.statusCode, 200, 'aborting twice is fine');
  const complete = await bss.app.inject({
    method: 'POST',
    url: paths.complete,
    payload: { uploadId, key, parts: [{ partNumber: 1, etag: 'x' }] },
  });
  assert.equal(complete.statusCode, 404);

  const unknownId = 'f'.repeat(32);
  const unknownKey = key.replace(uploadId, unknownId);
  assert.deepEqual((await bss.app.inject({ method: 'GET', url: doneUrl(unknownId, unknownKey) })).json(), {
    parts: [],
    expired: true,
  });

  const second = await sendParts(bss.app, paths, data);
  assert.equal(await bss.storage.sweep(new Date(Date.now() + 1000)), 1);
  assert.deepEqual((await bss.app.inject({ method: 'GET', url: doneUrl(second.uploadId, second.key) })).json(), {
    parts: [],
    expired: true,
  });
});

test('complete: hash mismatch is 422 and nothing is visible; wrong ETag is 400; unquoted ETags pass', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const data = randomBytes(2000);
  const claimed = sha256(Buffer.from('something else'));
  const lying = uploadPaths('videos', { owner, project, hash: claimed });
  const sent = await sendParts(bss.app, lying, data);
  const mismatch = await bss.app.inject({
    method: 'POST',
    url: lying.complete,
    payload: { uploadId: sent.uploadId, key: sent.key, parts: sent.etags },
  });
  assert.equal(mismatch.statusCode, 422);
  assert.equal(mismatch.json().error.code, 'hash_mismatch');
  assert.equal(await bss.storage.stat({ owner, project, hash: claimed }), null);
  assert.equal(await bss.storage.stat({ owner, project, hash: sha256(data) }), null);

  const honest = uploadPaths('videos', { owner, project, hash: sha256(data) });
  const ok = await sendParts(bss.app, honest, data);
  const wrong = await bss.app.inject({
    method: 'POST',
    url: honest.complete,
    payload: {
      uploadId: ok.uploadId,
      key: ok.key,
      parts: [{ partNumber: 1, etag: '"0123456789abcdef0123456789abcdef"' }],
    },
  });
  assert.equal(wrong.statusCode, 400);
  assert.equal(wrong.json().error.code, 'invalid_part');
  // S3's name for it is a field of its own, not a prefix of the message.
  assert.equal(wrong.json().error.reason, 'InvalidPart');
  assert.match(wrong.json().error.message, /^part 1 has ETag/);
  const missing = await bss.app.inject({
    method: 'POST',
    url: honest.complete,
    payload: { uploadId: ok.uploadId, key: ok.key, parts: [...ok.etags, { partNumber: 2, etag: ok.etags[0]!.etag }] },
  });
  assert.equal(missing.json().error.code, 'invalid_part');
  assert.equal(missing.json().error.message, 'part 2 was not uploaded');
  const bare = ok.etags.map((e) => ({ partNumber: e.partNumber, etag: e.etag.replaceAll('"', '') }));
  const done = await bss.app.inject({
    method: 'POST',
    url: honest.complete,
    payload: { uploadId: ok.uploadId, key: ok.key, parts: bare },
  });
  assert.equal(done.statusCode, 200, done.body);
});

test('completing twice, and two uploads of one hash completing at once, all answer success with one blob', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const data = randomBytes(5 * MiB + 10);
  const hash = sha256(data);
  const paths = uploadPaths('tracks', { owner, project, hash });
  const a = await sendParts(bss.app, paths, data);
  const b = await sendParts(bss.app, paths, data);
  const calls = [a, b, a, b].map((u) =>
    bss.app.inject({
      method: 'POST',
      url: paths.complete,
      payload: { uploadId: u.uploadId, key: u.key, parts: u.etags },
    }),
  );
  const results = await Promise.all(calls);
  for (const res of results) {
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().hash, hash);
    assert.equal(res.json().success, true);
  }
  const again = await bss.app.inject({
    method: 'POST',
    url: paths.complete,
    payload: { uploadId: a.uploadId, key: a.key, parts: a.etags },
  });
  assert.equal(again.statusCode, 200);
  assert.equal((await bss.storage.stat({ owner, project, hash }))?.size, data.length);
});

test('a URL signed for one asset type reaches only its own blob under another type', async (t) => {
  // The signature binds owner, project and hash, not the type in the path: a URL moved to
  // another type's route must still land on the signed blob and nowhere else.
  const bss = await makeApp();
  t.after(() => bss.close());
  const data = randomBytes(100);
  const hash = sha256(data);
  const signed = uploadPaths('video', { owner, project, hash });
  const moved = Object.fromEntries(
    Object.entries(signed).map(([route, url]) => [route, url.replace(/^\/video\//, '/image/')]),
  ) as typeof signed;
  assert.ok(moved.init.startsWith('/image/upload/multipart/init?'));
  const { uploadId, key, etags } = await sendParts(bss.app, moved, data, 'image/png');
  assert.match(key, new RegExp(`^uploads/${owner}/${project}/${hash}/`));
  const complete = await bss.app.inject({
    method: 'POST',
    url: moved.complete,
    payload: { uploadId, key, parts: etags },
  });
  assert.equal(complete.statusCode, 200, complete.body);
  assert.equal(complete.json().key, `blobs/${owner}/${project}/${hash}`);
  assert.equal((await bss.storage.stat({ owner, project, hash }))?.size, data.length);
  assert.equal(await bss.storage.stat({ owner: 'mallory', project, hash }), null, 'no other owner got the blob');
  assert.equal(await bss.storage.stat({ owner, project: 'elsewhere', hash }), null, 'no other project got the blob');
});

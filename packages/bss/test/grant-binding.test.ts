import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { MiB, makeApp, pathOf, sha256, signedQuery, split } from './helpers.ts';

const owner = 'alice';
const project = 'robotics';

/** The five upload paths of a grant that also signs size and user, as the server hands them out. */
function grantPaths(hash: string, extra: { size?: number; user?: string }, opts: { now?: number } = {}) {
  const params: Record<string, string> = { owner, project, hash };
  if (extra.size !== undefined) params.size = String(extra.size);
  if (extra.user !== undefined) params.user = extra.user;
  const path = (step: string) => `/files/upload/multipart/${step}?${signedQuery(`upload-${step}`, params, opts)}`;
  return {
    init: path('init'),
    parts: path('parts'),
    partsDone: path('parts-done'),
    complete: path('complete'),
    abort: path('abort'),
  };
}

test('a URL signed with size or user fails once either is removed or added', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const paths = grantPaths(sha256(randomBytes(8)), { size: 10, user: 'u-1' });
  for (const drop of ['size', 'user']) {
    const url = new URL(paths.init, 'http://x');
    url.searchParams.delete(drop);
    const res = await bss.app.inject({ method: 'POST', url: `${url.pathname}${url.search}`, payload: {} });
    assert.equal(res.statusCode, 403, drop);
    assert.equal(res.json().error.code, 'bad_signature');
  }
  const plain = grantPaths(sha256(randomBytes(8)), {});
  const widened = await bss.app.inject({ method: 'POST', url: `${plain.init}&size=99`, payload: {} });
  assert.equal(widened.json().error.code, 'bad_signature', 'size cannot be added to a URL signed without it');
  assert.equal(
    (await bss.app.inject({ method: 'POST', url: plain.init, payload: {} })).statusCode,
    200,
    'a URL without size stays valid',
  );
});

test('a signed size holds the upload: init body, part URLs, part PUTs and complete', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const data = randomBytes(5 * MiB + 1000);
  const hash = sha256(data);
  const paths = grantPaths(hash, { size: data.length });

  const lying = await bss.app.inject({ method: 'POST', url: paths.init, payload: { size: 1 } });
  assert.equal(lying.statusCode, 403);
  assert.equal(lying.json().error.code, 'scope_mismatch');

  const init = await bss.app.inject({ method: 'POST', url: paths.init, payload: {} });
  const { uploadId, key } = init.json();
  const beyond = await bss.app.inject({
    method: 'POST',
    url: paths.parts,
    payload: { uploadId, key, partNumbers: [1, 2, 3] },
  });
  assert.equal(beyond.statusCode, 413, 'part 3 would start past the size');
  assert.equal(beyond.json().error.code, 'too_large');
  const declaredTooLong = await bss.app.inject({
    method: 'POST',
    url: paths.parts,
    payload: { uploadId, key, partNumbers: [2], contentLength: { 2: 1001 } },
  });
  assert.equal(declaredTooLong.statusCode, 413);

  const urls = (
    await bss.app.inject({ method: 'POST', url: paths.parts, payload: { uploadId, key, partNumbers: [1, 2] } })
  ).json().parts;
  const [first, tail] = split(data);
  const tooLong = await bss.app.inject({
    method: 'PUT',
    url: pathOf(urls[2]),
    payload: Buffer.concat([tail as Buffer, Buffer.alloc(1)]),
  });
  assert.equal(tooLong.statusCode, 413, 'a part PUT past the size is refused');

  // The parts add up to less than the signed size: refused, nothing published, the upload stays open.
  const p1 = await bss.app.inject({ method: 'PUT', url: pathOf(urls[1]), payload: first });
  const short = await bss.app.inject({ method: 'PUT', url: pathOf(urls[2]), payload: (tail as Buffer).subarray(1) });
  const parts = [
    { partNumber: 1, etag: String(p1.headers.etag) },
    { partNumber: 2, etag: String(short.headers.etag) },
  ];
  const wrong = await bss.app.inject({ method: 'POST', url: paths.complete, payload: { uploadId, key, parts } });
  assert.equal(wrong.statusCode, 400, wrong.body);
  assert.equal(await bss.storage.stat({ owner, project, hash }), null);

  const p2 = await bss.app.inject({ method: 'PUT', url: pathOf(urls[2]), payload: tail });
  parts[1] = { partNumber: 2, etag: String(p2.headers.etag) };
  const done = await bss.app.inject({ method: 'POST', url: paths.complete, payload: { uploadId, key, parts } });
  assert.equal(done.statusCode, 200, done.body);
  assert.equal(done.json().size, data.length);
});

test('a blob of another size than the grant stated is never published', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const data = randomBytes(3000);
  const hash = sha256(data);
  const paths = grantPaths(hash, { size: data.length + 1 });
  const { uploadId, key } = (await bss.app.inject({ method: 'POST', url: paths.init, payload: {} })).json();
  const url = (
    await bss.app.inject({ method: 'POST', url: paths.parts, payload: { uploadId, key, partNumbers: [1] } })
  ).json().parts[1];
  const put = await bss.app.inject({ method: 'PUT', url: pathOf(url), payload: data });
  const res = await bss.app.inject({
    method: 'POST',
    url: paths.complete,
    payload: { uploadId, key, parts: [{ partNumber: 1, etag: put.headers.etag }] },
  });
  assert.equal(res.statusCode, 400, res.body);
  assert.equal(await bss.storage.stat({ owner, project, hash }), null);
});

test("an upload answers only its own grant's user; the same user's fresh grant resumes it", async (t) => {
  const now = Math.floor(Date.now() / 1000);
  let clock = now;
  const bss = await makeApp({}, () => clock);
  t.after(() => bss.close());
  const data = randomBytes(2000);
  const hash = sha256(data);
  const alice = grantPaths(hash, { size: data.length, user: 'user-alice' }, { now });
  const { uploadId, key } = (await bss.app.inject({ method: 'POST', url: alice.init, payload: {} })).json();
  const url = (
    await bss.app.inject({ method: 'POST', url: alice.parts, payload: { uploadId, key, partNumbers: [1] } })
  ).json().parts[1];
  const put = await bss.app.inject({ method: 'PUT', url: pathOf(url), payload: data });
  const body = { uploadId, key, parts: [{ partNumber: 1, etag: put.headers.etag }] };

  for (const other of [
    grantPaths(hash, { size: data.length, user: 'user-mallory' }, { now }),
    grantPaths(hash, {}, { now }),
  ]) {
    const steps = [
      { method: 'POST' as const, url: other.parts, payload: { uploadId, key, partNumbers: [1] } },
      { method: 'GET' as const, url: `${other.partsDone}&${new URLSearchParams({ uploadId, key })}` },
      { method: 'POST' as const, url: other.complete, payload: body },
      { method: 'POST' as const, url: other.abort, payload: { uploadId, key } },
    ];
    for (const step of steps) {
      const res = await bss.app.inject(step);
      assert.equal(res.statusCode, 403, `${step.url.split('?')[0]}: ${res.body}`);
      assert.equal(res.json().error.code, 'scope_mismatch');
    }
  }

  clock = now + 100;
  const fresh = grantPaths(hash, { size: data.length, user: 'user-alice' }, { now: clock });
  const listed = await bss.app.inject({
    method: 'GET',
    url: `${fresh.partsDone}&${new URLSearchParams({ uploadId, key })}`,
  });
  assert.equal(listed.json().parts.length, 1, 'the part is still there for its user');
  const done = await bss.app.inject({ method: 'POST', url: fresh.complete, payload: body });
  assert.equal(done.statusCode, 200, done.body);
});

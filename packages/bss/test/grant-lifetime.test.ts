import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { makeApp, sha256, signedQuery, singlePath, uploadPaths } from './helpers.ts';

const owner = 'alice';
const project = 'robotics';

test('a signed URL that lives longer than BSS allows is refused, on every signed route', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const bss = await makeApp({ PRESIGN_TTL_SECONDS: '600' }, () => now);
  t.after(() => bss.close());
  const scope = { owner, project, hash: sha256(randomBytes(10)) };

  const long = uploadPaths('videos', scope, { now, ttl: 3600 });
  const init = await bss.app.inject({ method: 'POST', url: long.init, payload: {} });
  assert.equal(init.statusCode, 403, init.body);
  assert.equal(init.json().error.code, 'bad_signature');

  const stat = await bss.app.inject({
    method: 'GET',
    url: `/blobs/stat?${signedQuery('stat', scope, { now, ttl: 3600 })}`,
  });
  assert.equal(stat.statusCode, 403);
  const single = await bss.app.inject({
    method: 'POST',
    url: singlePath('videos', { ...scope, size: 10 }, { now, ttl: 3600 }),
    payload: {},
  });
  assert.equal(single.statusCode, 403);

  const withinTtl = uploadPaths('videos', scope, { now, ttl: 600 });
  assert.equal((await bss.app.inject({ method: 'POST', url: withinTtl.init, payload: {} })).statusCode, 200);
});

test('part URLs expire no later than the parts URL that minted them', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const bss = await makeApp({ PRESIGN_TTL_SECONDS: '3600' }, () => now);
  t.after(() => bss.close());
  const scope = { owner, project, hash: sha256(randomBytes(10)) };
  const paths = uploadPaths('videos', scope, { now, ttl: 60 });
  const init = await bss.app.inject({ method: 'POST', url: paths.init, payload: {} });
  const { uploadId, key } = init.json();

  const parts = await bss.app.inject({
    method: 'POST',
    url: paths.parts,
    payload: { uploadId, key, partNumbers: [1, 2] },
  });
  assert.equal(parts.statusCode, 200, parts.body);
  const answer = parts.json() as { parts: Record<string, string>; expiresAt: string };
  for (const url of Object.values(answer.parts)) {
    assert.equal(Number(new URL(url).searchParams.get('exp')), now + 60, 'the part URL ends with its grant');
  }
  assert.equal(answer.expiresAt, new Date((now + 60) * 1000).toISOString());
});

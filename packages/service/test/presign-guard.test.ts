import assert from 'node:assert/strict';
import { test } from 'node:test';
import { presign } from '@dreamlake/presign';
import Fastify from 'fastify';
import { presignGuard, registerErrorHandling } from '../src/index.ts';

const SECRETS = ['guard-secret-0123456789abcdef0123456789'];
const NOW = 1_800_000_000;
const params = { owner: 'alice', project: 'robotics', hash: 'a'.repeat(64) };

function buildApp(legacy = false) {
  const app = Fastify();
  registerErrorHandling(app);
  const clock = () => NOW;
  app.post(
    '/videos/upload/multipart/init',
    {
      onRequest: presignGuard({
        action: 'upload-init',
        signed: ['owner', 'project', 'hash'],
        secrets: SECRETS,
        clock,
        allowUnsigned: () => legacy,
      }),
    },
    async (request) => ({ scope: request.presign }),
  );
  app.post(
    '/lambda/:name',
    {
      onRequest: presignGuard({
        action: (r) => `lambda-${(r.params as { name: string }).name}`,
        signed: ['owner', 'project', 'hash'],
        secrets: SECRETS,
        clock,
      }),
    },
    async (request) => ({ scope: request.presign }),
  );
  return app;
}

function qs(query: Record<string, string>, extra = ''): string {
  return `?${new URLSearchParams(query).toString()}${extra}`;
}

test('a valid signature reaches the handler with the verified scope', async () => {
  const app = buildApp();
  const { query, exp } = presign({ action: 'upload-init', params, secrets: SECRETS, now: NOW, ttlSeconds: 300 });
  const res = await app.inject({ method: 'POST', url: `/videos/upload/multipart/init${qs(query)}`, payload: {} });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { scope: { action: 'upload-init', params, exp } });
});

test('a missing sig is 401 missing_signature in the JSON error shape', async () => {
  const app = buildApp();
  const res = await app.inject({ method: 'POST', url: `/videos/upload/multipart/init${qs(params)}`, payload: {} });
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().error.code, 'missing_signature');
  assert.equal(typeof res.json().error.message, 'string');
});

test('a duplicated signed param is refused, whichever copy is the signed one', async () => {
  const app = buildApp();
  const { query } = presign({ action: 'upload-init', params, secrets: SECRETS, now: NOW, ttlSeconds: 300 });
  for (const extra of ['&owner=mallory', '&owner=alice']) {
    const res = await app.inject({
      method: 'POST',
      url: `/videos/upload/multipart/init${qs(query, extra)}`,
      payload: {},
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'malformed_signature');
  }
});

test('tampered, expired and wrong-action URLs get their codes', async () => {
  const app = buildApp();
  const { query } = presign({ action: 'upload-init', params, secrets: SECRETS, now: NOW, ttlSeconds: 300 });
  const tampered = await app.inject({
    method: 'POST',
    url: `/videos/upload/multipart/init${qs({ ...query, project: 'other' })}`,
    payload: {},
  });
  assert.equal(tampered.statusCode, 403);
  assert.equal(tampered.json().error.code, 'bad_signature');

  const old = presign({ action: 'upload-init', params, secrets: SECRETS, now: NOW - 400, ttlSeconds: 300 });
  const expired = await app.inject({
    method: 'POST',
    url: `/videos/upload/multipart/init${qs(old.query)}`,
    payload: {},
  });
  assert.equal(expired.statusCode, 403);
  assert.equal(expired.json().error.code, 'expired_signature');

  const lambda = await app.inject({ method: 'POST', url: `/lambda/verify${qs(query)}` });
  assert.equal(lambda.statusCode, 403);
  assert.equal(lambda.json().error.code, 'bad_signature');
  const forLambda = presign({ action: 'lambda-verify', params, secrets: SECRETS, now: NOW, ttlSeconds: 300 });
  const ok = await app.inject({ method: 'POST', url: `/lambda/verify${qs(forLambda.query)}` });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().scope.action, 'lambda-verify');
});

test('legacy mode lets unsigned requests through but still verifies signed ones', async () => {
  const app = buildApp(true);
  const unsigned = await app.inject({ method: 'POST', url: `/videos/upload/multipart/init${qs(params)}`, payload: {} });
  assert.equal(unsigned.statusCode, 200);
  assert.deepEqual(unsigned.json(), { scope: null });
  const { query } = presign({ action: 'upload-init', params, secrets: ['another-secret'], now: NOW, ttlSeconds: 300 });
  const forged = await app.inject({ method: 'POST', url: `/videos/upload/multipart/init${qs(query)}`, payload: {} });
  assert.equal(forged.statusCode, 403);
});

test('the guard refuses a bad configuration when it is built', () => {
  assert.throws(() => presignGuard({ action: 'x', signed: ['a'], secrets: [] }), TypeError);
  assert.throws(() => presignGuard({ action: 'x', signed: [], secrets: SECRETS }), TypeError);
});

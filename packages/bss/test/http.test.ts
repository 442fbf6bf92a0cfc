import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeApp, sha256, uploadPaths } from './helpers.ts';

test('CORS: allowed origins get the headers and see ETag; others do not', async (t) => {
  const bss = await makeApp({ CORS_ORIGINS: 'https://app.example.com' });
  t.after(() => bss.close());
  const preflight = await bss.app.inject({
    method: 'OPTIONS',
    url: '/upload/part',
    headers: {
      origin: 'https://app.example.com',
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'content-md5',
    },
  });
  assert.equal(preflight.statusCode, 204);
  assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example.com');
  assert.match(String(preflight.headers['access-control-allow-methods']), /PUT/);
  assert.match(String(preflight.headers['access-control-allow-headers']), /content-md5/);

  const paths = uploadPaths('videos', { owner: 'a', project: 'b', hash: sha256(Buffer.from('c')) });
  const res = await bss.app.inject({
    method: 'POST',
    url: paths.init,
    payload: {},
    headers: { origin: 'https://app.example.com' },
  });
  assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
  assert.match(String(res.headers['access-control-expose-headers']), /ETag/);
  assert.equal(res.headers['referrer-policy'], 'no-referrer');

  const foreign = await bss.app.inject({
    method: 'POST',
    url: paths.init,
    payload: {},
    headers: { origin: 'https://evil.example.com' },
  });
  assert.equal(foreign.headers['access-control-allow-origin'], undefined);
});

test('without CORS_ORIGINS no browser origin is allowed', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const origin = 'https://app.example.com';
  const res = await bss.app.inject({ method: 'GET', url: '/healthz', headers: { origin } });
  assert.equal(res.headers['access-control-allow-origin'], undefined);
  // The browser's preflight of a part PUT, the request CORS exists for, is granted nothing either.
  const paths = uploadPaths('videos', { owner: 'a', project: 'b', hash: sha256(Buffer.from('c')) });
  for (const url of [paths.init, '/videos/upload/multipart/part', '/blobs/download']) {
    const preflight = await bss.app.inject({
      method: 'OPTIONS',
      url,
      headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-md5' },
    });
    assert.equal(preflight.headers['access-control-allow-origin'], undefined, `${url}: ${preflight.statusCode}`);
    assert.equal(preflight.headers['access-control-allow-methods'], undefined, url);
    assert.equal(preflight.headers['access-control-allow-headers'], undefined, url);
  }
});

test('unknown routes and malformed JSON answer the JSON error shape', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const missing = await bss.app.inject({ method: 'GET', url: '/nope' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, 'not_found');
  const paths = uploadPaths('videos', { owner: 'a', project: 'b', hash: sha256(Buffer.from('c')) });
  const broken = await bss.app.inject({
    method: 'POST',
    url: paths.init,
    payload: '{"contentType":',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(broken.statusCode, 400);
  assert.equal(broken.json().error.code, 'invalid_request');
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { uploadId } from '../src/http/schemas.ts';
import { makeApp, type TestApp } from './helpers.ts';

// biome-ignore lint/suspicious/noExplicitAny: the document is read as plain JSON
type Doc = any;

const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

let bss: TestApp;
let doc: Doc;
before(async () => {
  bss = await makeApp();
  const res = await bss.app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  doc = res.json();
});
after(() => bss?.close());

test('every registered BSS route is in the document, each with a summary', () => {
  assert.equal(doc.openapi, '3.1.0');
  const { registered, undescribed } = bss.app.routeCatalog;
  assert.ok(registered.includes('PUT /upload/part'), 'the disk backend registers its part route');
  assert.deepEqual(undescribed, [], 'register these with their doc: { config: { doc } }');
  for (const key of registered) {
    const [method, url] = key.split(' ') as [string, string];
    const operation = doc.paths[openApiPath(url)]?.[method.toLowerCase()];
    assert.ok(operation, `${key} is missing from /openapi.json`);
    assert.ok(operation.summary, `${key} has no summary`);
  }
});

test('presigned routes name the signature scheme, their signed query parameters and the refusal codes', () => {
  const download = doc.paths['/blobs/download'].get;
  assert.deepEqual(download.security, [{ presigned: [] }]);
  const query = download.parameters.filter((p: { in: string }) => p.in === 'query');
  // `sig` is the presigned security scheme's own parameter (an apiKey in the query).
  assert.deepEqual(query.map((p: { name: string }) => p.name).sort(), ['exp', 'hash', 'owner', 'project']);
  assert.equal(doc.components.securitySchemes.presigned.name, 'sig');
  assert.ok(query.every((p: { required: boolean }) => p.required));
  assert.match(download.responses['401'].description, /missing_signature/);
  for (const code of ['bad_signature', 'expired_signature', 'scope_mismatch']) {
    assert.match(download.responses['403'].description, new RegExp(code));
  }
  assert.ok(download.responses['206'], 'ranges are described');
  assert.equal(doc.components.securitySchemes.presigned.in, 'query');
  // The five upload URLs may be unsigned only in the legacy rollout: their signature is optional.
  const init = doc.paths['/{type}/upload/multipart/init'].post;
  const exp = init.parameters.find((p: { name: string }) => p.name === 'exp');
  assert.equal(exp.required, false);
  const type = init.parameters.find((p: { in: string; name: string }) => p.in === 'path' && p.name === 'type');
  assert.ok(type.schema.enum.includes('videos'));
});

test('request bodies are the schemas the handlers validate with', () => {
  const complete = doc.paths['/{type}/upload/multipart/complete'].post;
  const body = complete.requestBody.content['application/json'].schema;
  assert.deepEqual([...body.required].sort(), ['key', 'parts', 'uploadId']);
  assert.equal(body.properties.uploadId.pattern, (z.toJSONSchema(uploadId) as { pattern: string }).pattern);
  assert.equal(body.properties.parts.maxItems, 10_000);
  assert.match(complete.responses['422'].description, /hash_mismatch/);
  const part = doc.paths['/upload/part'].put;
  assert.ok(part.requestBody.content['application/octet-stream'], 'a part body is raw bytes');
});

test('the browsable page is off unless enabled, and on in dev mode', async () => {
  assert.equal((await bss.app.inject({ method: 'GET', url: '/docs/' })).statusCode, 404);
  const dev = await makeApp({ API_DOCS_UI: 'true' });
  try {
    const page = await dev.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
  } finally {
    await dev.close();
  }
});

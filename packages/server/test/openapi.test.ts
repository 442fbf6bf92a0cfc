import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describeRoutes, type RouteDoc } from '@dreamlake/service';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { buildServerApp, type DB, openDatabase } from '../src/index.ts';
import { hashSchema } from '../src/names.ts';
import { loginBody, passwordBody, signupBody } from '../src/routes/auth.ts';
import { memberBody, orgBody } from '../src/routes/orgs.ts';
import { spaceBody } from '../src/routes/spaces.ts';
import { createBody as tokenBody } from '../src/routes/tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/engines.ts';
import { testConfig } from './helpers/harness.ts';

// biome-ignore lint/suspicious/noExplicitAny: the document is read as plain JSON
type Doc = any;

/** `/a/:b` as OpenAPI writes it: `/a/{b}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

let database: TestDatabase;
let db: DB;
let app: FastifyInstance;
let doc: Doc;
before(async () => {
  database = await createTestDatabase('sqlite');
  db = await openDatabase({ databaseUrl: database.url });
  app = await buildServerApp({ config: testConfig({ databaseUrl: database.url }), db });
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  doc = res.json();
});
after(async () => {
  await app?.close();
  await db?.destroy();
  await database?.drop();
});

describe('the server OpenAPI document', () => {
  test('is OpenAPI 3.1 and describes every registered route, each with a summary', () => {
    assert.equal(doc.openapi, '3.1.0');
    const { registered, undescribed } = app.routeCatalog;
    assert.ok(registered.length >= 20, `routes seen: ${registered.length}`);
    assert.deepEqual(undescribed, [], 'register these with their doc: { config: { doc } }');
    for (const key of registered) {
      const [method, url] = key.split(' ') as [string, string];
      const operation = doc.paths[openApiPath(url)]?.[method.toLowerCase()];
      assert.ok(operation, `${key} is missing from /openapi.json`);
      assert.ok(operation.summary, `${key} has no summary`);
    }
  });

  test('request bodies come from the schemas the handlers validate with', () => {
    const init = doc.paths['/uploads/init'].post;
    const body = init.requestBody.content['application/json'].schema;
    assert.deepEqual([...body.required].sort(), [
      'contentType',
      'filename',
      'hash',
      'namespace',
      'size',
      'space',
      'type',
    ]);
    const hashPattern = (z.toJSONSchema(hashSchema) as { pattern: string }).pattern;
    assert.equal(body.properties.hash.pattern, hashPattern);
    assert.equal(body.additionalProperties, false, 'the init body is strict');
    const download = doc.paths['/namespaces/{ns}/spaces/{space}/files/download'].get;
    const names = download.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`).sort();
    assert.deepEqual(names, ['path:ns', 'path:space', 'query:name', 'query:version']);
  });

  test('each route names its authentication and its error codes under their statuses', () => {
    assert.deepEqual(doc.paths['/auth/me'].get.security, [{ bearer: [] }]);
    assert.deepEqual(doc.paths['/auth/login'].post.security, []);
    assert.ok(doc.components.securitySchemes.bearer);
    const login = doc.paths['/auth/login'].post.responses;
    assert.match(login['401'].description, /unauthorized/);
    assert.match(login['429'].description, /rate_limited/);
    const errorSchema = login['401'].content['application/json'].schema;
    assert.deepEqual(errorSchema.required, ['error']);
    assert.ok(errorSchema.properties.error.properties.code.enum.includes('rate_limited'));
    assert.match(doc.paths['/uploads/init'].post.responses['413'].description, /too_large/);
    assert.equal(doc.paths['/auth/tokens/{id}'].delete.responses['204'].description, 'revoked');
  });

  test('the schemas document only: handlers still answer their own errors and full answers', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { username: 'UPPER', password: 'x' },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'invalid_request');
    const signup = await app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { username: 'documented', password: 'correct horse battery' },
    });
    const me = await app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${signup.json().token}` },
    });
    // `kind` is not in the documented answer; a serializer built from the schema would drop it.
    assert.deepEqual(me.json().namespaces, [{ name: 'documented', kind: 'user', role: 'owner' }]);
  });

  test('the browsable page is served only when enabled', async () => {
    assert.equal((await app.inject({ method: 'GET', url: '/docs' })).statusCode, 404);
    const withUi = await buildServerApp({ config: testConfig({ databaseUrl: database.url, apiDocsUi: true }), db });
    try {
      const page = await withUi.inject({ method: 'GET', url: '/docs/' });
      assert.equal(page.statusCode, 200);
      assert.match(page.headers['content-type'] as string, /text\/html/);
      assert.deepEqual(withUi.routeCatalog.undescribed, [], 'the page itself is not an API route');
    } finally {
      await withUi.close();
    }
  });
});

test('a route registered without a doc is reported, so the guard above fails until it has one', async () => {
  const knownDoc: RouteDoc = {
    summary: 'known',
    tags: [],
    auth: 'none',
    body: z.object({ a: z.number() }),
    responses: { 200: z.object({ ok: z.boolean() }) },
  };
  const validatedDoc: RouteDoc = { summary: 'validated by Fastify', tags: ['own'], auth: 'bearer', responses: {} };
  const bare = Fastify();
  const catalog = describeRoutes(bare);
  const schemas = new Map<string, unknown>();
  bare.addHook('onRoute', (route) => void schemas.set(`${route.method} ${route.url}`, route.schema));
  bare.post('/known', { config: { doc: knownDoc } }, async () => ({ ok: true, extra: 1 }));
  const own = { body: { type: 'object', required: ['a'], properties: { a: { type: 'number' } } } };
  bare.post('/validated', { schema: own, config: { doc: validatedDoc } }, async () => ({ ok: true }));
  const { body: _, ...readDoc } = knownDoc;
  bare.get('/read', { config: { doc: readDoc } }, async () => ({ ok: true }));
  bare.post('/added-later', async () => ({ ok: true }));
  await bare.ready();
  // The HEAD Fastify derives from GET /read is not listed: the document has the GET.
  assert.deepEqual(catalog.registered, ['POST /known', 'POST /validated', 'GET /read', 'POST /added-later']);
  assert.deepEqual(catalog.undescribed, ['POST /added-later']);
  // A route's own schema is kept, with the doc's summary, tags and authentication added.
  assert.deepEqual(JSON.parse(JSON.stringify(schemas.get('POST /validated'))), {
    summary: 'validated by Fastify',
    tags: ['own'],
    security: [{ bearer: [] }],
    ...own,
  });
  // A described schema neither validates nor trims the answer; a route's own schema still validates.
  const known = await bare.inject({ method: 'POST', url: '/known', payload: { a: 'not a number' } });
  assert.deepEqual([known.statusCode, known.json()], [200, { ok: true, extra: 1 }]);
  const validated = await bare.inject({ method: 'POST', url: '/validated', payload: {} });
  assert.equal(validated.statusCode, 400);
  await bare.close();
});

test('bodies described beside their routes accept and refuse what the handlers do', async () => {
  const signup = await app.inject({
    method: 'POST',
    url: '/auth/signup',
    payload: { username: 'mirror', password: 'correct horse battery' },
  });
  const auth = { authorization: `Bearer ${signup.json().token}` };
  await app.inject({ method: 'POST', url: '/orgs', headers: auth, payload: { name: 'mirror-org' } });
  const cases: Array<[string, string, z.ZodType, unknown]> = [
    ['POST', '/auth/signup', signupBody, { username: 'Upper', password: 'long enough' }],
    ['POST', '/auth/signup', signupBody, { username: 'mirror2', password: 'short' }],
    ['POST', '/auth/signup', signupBody, { username: 'mirror3', password: 'long enough' }],
    ['POST', '/auth/login', loginBody, { username: '', password: 'x' }],
    ['POST', '/auth/login', loginBody, { username: 'nobody', password: 'x' }],
    ['POST', '/auth/password', passwordBody, { currentPassword: 'x', newPassword: 'short' }],
    ['POST', '/auth/tokens', tokenBody, { name: 't', scopes: [] }],
    ['POST', '/auth/tokens', tokenBody, { name: 't', expiresInDays: 0 }],
    [
      'POST',
      '/auth/tokens',
      tokenBody,
      { name: 't', scopes: ['read'], expiresInDays: 30, password: 'correct horse battery' },
    ],
    ['POST', '/orgs', orgBody, { name: 'Not A Name' }],
    ['POST', '/orgs', orgBody, { name: 'mirror-org2' }],
    ['PUT', '/orgs/mirror-org/members/mirror', memberBody, { role: 'king' }],
    ['POST', '/namespaces/mirror/spaces', spaceBody, { name: '-bad' }],
    ['POST', '/namespaces/mirror/spaces', spaceBody, { name: 'good' }],
  ];
  for (const [method, url, schema, body] of cases) {
    const res = await app.inject({ method: method as 'POST', url, headers: auth, payload: body as object });
    const refused = res.statusCode === 400 && res.json().error.code === 'invalid_request';
    const described = schema.safeParse(body).success;
    assert.equal(!refused, described, `${method} ${url} ${JSON.stringify(body)}: ${res.statusCode} ${res.body}`);
  }
});

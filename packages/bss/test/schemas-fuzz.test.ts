import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { makeApp, sha256, signedQuery, type TestApp } from './helpers.ts';

/**
 * Every route of BSS, fed arbitrary JSON bodies and query strings through `inject()` (signed
 * as the server would sign them, with arbitrary extra or changed params, and in the legacy
 * unsigned shape): never a 5xx, and every refusal is the JSON error shape.
 */

const RUNS = 60;

/** Percent-encodes every UTF-8 byte (lone surrogates included, which encodeURIComponent refuses). */
const enc = (value: string) => Buffer.from(value, 'utf8').toString('hex').replace(/../g, '%$&');

const tricky = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '\ud800',
  'é',
  '..',
  '../x',
  '/',
  '%',
  '__proto__',
  'constructor',
  'x'.repeat(1100),
  'video/mp4;',
  'text/plain; a=1;',
  'vidéo/mp4',
  'a/b\u0007',
  '0',
  '-1',
  '1e309',
  'NaN',
);
const junk = fc.oneof(fc.jsonValue({ maxDepth: 2 }), tricky, fc.string({ unit: 'binary', maxLength: 30 }));
const field = <T>(plausible: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: junk });
const body = <T>(shape: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: shape }, { weight: 1, arbitrary: junk });

const DATA = Buffer.from('schema fuzz blob');
const SCOPE = { owner: 'alice', project: 'robotics', hash: sha256(DATA) };

const name = fc.oneof(
  fc.constantFrom(SCOPE.owner, SCOPE.project, 'bob'),
  fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,12}$/),
  tricky,
);
const hash = fc.oneof(
  fc.constant(SCOPE.hash),
  fc.stringMatching(/^[0-9a-f]{64}$/),
  fc.stringMatching(/^[0-9a-f]{16}$/),
  tricky,
);
const size = fc.oneof(
  fc.integer({ min: -2, max: 100 }),
  fc.constantFrom(DATA.length, 2 ** 53, 2 ** 60, 1.5, 5 * 2 ** 30 + 1),
);
const contentType = fc.constantFrom('video/mp4', 'text/plain; charset=utf-8', 'video/mp4;', 'a/b\u0007', 'vidéo/mp4');
const partNumber = fc.oneof(fc.integer({ min: -1, max: 10_001 }), fc.constantFrom(1, 1.5));
const md5 = fc.oneof(fc.constantFrom('', '1B2M2Y8AsgTpgAmY7PhCfg=='), fc.string({ maxLength: 30 }));
const echo = { owner: field(name), project: field(name), hash: field(hash) };

interface Route {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  action: string;
  /** The params the signature covers, as the server or BSS would sign them. */
  signed: fc.Arbitrary<Record<string, string>>;
  body?: (ids: { uploadId: string; key: string }) => fc.Arbitrary<unknown>;
  query?: (ids: { uploadId: string; key: string }) => fc.Arbitrary<Record<string, string>>;
}

const scopeSigned = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Record<string, string>>(SCOPE) },
  {
    weight: 1,
    arbitrary: fc
      .record({ owner: fc.string({ unit: 'binary', maxLength: 12 }), project: name, hash: hash })
      .map((s) => ({ ...s, owner: String(s.owner) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ size: fc.oneof(fc.integer({ min: -1, max: 2 ** 53 }).map(String), tricky) })
      .map((g) => ({ ...SCOPE, ...g })),
  },
);
const ids = (i: { uploadId: string; key: string }) => ({
  uploadId: field(fc.constantFrom(i.uploadId, 'nope', 'a/../b')),
  key: field(fc.constantFrom(i.key, 'uploads/x', '../../etc/passwd')),
});

const ROUTES: Record<string, Route> = {
  init: {
    method: 'POST',
    path: '/videos/upload/multipart/init',
    action: 'upload-init',
    signed: scopeSigned,
    body: () =>
      body(
        fc.record(
          {
            ...echo,
            contentType: field(contentType),
            filename: field(fc.string({ unit: 'binary', maxLength: 20 })),
            size: field(size),
          },
          { requiredKeys: [] },
        ),
      ),
  },
  parts: {
    method: 'POST',
    path: '/videos/upload/multipart/parts',
    action: 'upload-parts',
    signed: scopeSigned,
    body: (i) =>
      body(
        fc.record(
          {
            ...echo,
            ...ids(i),
            partNumbers: field(fc.array(field(partNumber), { maxLength: 4 })),
            contentMd5: field(fc.dictionary(fc.string({ maxLength: 5 }), field(md5), { maxKeys: 3 })),
          },
          { requiredKeys: [] },
        ),
      ),
  },
  'parts-done': {
    method: 'GET',
    path: '/videos/upload/multipart/parts-done',
    action: 'upload-parts-done',
    signed: scopeSigned,
    query: (i) =>
      fc.record(
        {
          uploadId: fc.oneof(fc.constant(i.uploadId), fc.string({ unit: 'binary', maxLength: 20 })),
          key: fc.oneof(fc.constant(i.key), fc.string({ unit: 'binary', maxLength: 20 })),
        },
        { requiredKeys: [] },
      ),
  },
  complete: {
    method: 'POST',
    path: '/videos/upload/multipart/complete',
    action: 'upload-complete',
    signed: scopeSigned,
    body: (i) =>
      body(
        fc.record(
          {
            ...echo,
            ...ids(i),
            parts: field(
              fc.array(
                field(
                  fc.record(
                    { partNumber: field(partNumber), etag: field(fc.string({ maxLength: 40 })) },
                    { requiredKeys: [] },
                  ),
                ),
                { maxLength: 3 },
              ),
            ),
          },
          { requiredKeys: [] },
        ),
      ),
  },
  abort: {
    method: 'POST',
    path: '/videos/upload/multipart/abort',
    action: 'upload-abort',
    signed: scopeSigned,
    body: (i) => body(fc.record({ ...echo, ...ids(i) }, { requiredKeys: [] })),
  },
  'single (ask)': {
    method: 'POST',
    path: '/files/upload/single',
    action: 'upload-single',
    signed: fc
      .record({
        size: fc.oneof(fc.constant(String(DATA.length)), fc.integer({ min: -1, max: 2 ** 53 }).map(String), tricky),
      })
      .map((g) => ({ ...SCOPE, ...g })),
    body: () => body(fc.record({ contentType: field(contentType) }, { requiredKeys: [] })),
  },
  'single complete': {
    method: 'POST',
    path: '/files/upload/single/complete',
    action: 'upload-single',
    signed: fc.constant({ ...SCOPE, size: String(DATA.length) }),
    body: (i) => body(fc.record({ ...echo, key: ids(i).key }, { requiredKeys: [] })),
  },
  'part PUT': {
    method: 'PUT',
    path: '/upload/part',
    action: 'upload-part',
    signed: fc
      .record({
        uploadId: fc.oneof(fc.string({ maxLength: 12 }), tricky),
        partNumber: fc.oneof(partNumber.map(String), tricky),
        maxLength: fc.oneof(size.map(String), tricky),
        contentMd5: md5,
      })
      .map((p) => ({ ...SCOPE, ...p })),
  },
  'single PUT': {
    method: 'PUT',
    path: '/files/upload/single',
    action: 'upload-single',
    signed: fc
      .record({
        size: fc.oneof(fc.constant(String(DATA.length)), fc.integer({ min: -1, max: 2 ** 40 }).map(String), tricky),
      })
      .map((g) => ({ ...SCOPE, ...g })),
  },
  stat: { method: 'GET', path: '/blobs/stat', action: 'stat', signed: scopeSigned },
  download: { method: 'GET', path: '/blobs/download', action: 'download', signed: scopeSigned },
  'lambda verify': {
    method: 'POST',
    path: '/lambda/verify',
    action: 'lambda-verify',
    signed: scopeSigned,
    body: () => junk,
  },
};

/** What a client may do to the signed query: nothing, add extras, repeat or drop a param, break the signature. */
const tamper = fc.oneof(
  { weight: 4, arbitrary: fc.constant((q: string) => q) },
  {
    weight: 1,
    arbitrary: fc
      .dictionary(
        fc.oneof(
          fc.constantFrom('owner', 'hash', 'size', 'user', 'uploadId', 'exp', 'sig'),
          fc.string({ maxLength: 5 }),
        ),
        fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), tricky),
        { maxKeys: 3 },
      )
      .map(
        (extra) => (q: string) =>
          `${q}&${Object.entries(extra)
            .map(([k, v]) => `${enc(k)}=${enc(v)}`)
            .join('&')}`,
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('owner', 'hash', 'exp', 'sig', 'size').map(
      (k) => (q: string) =>
        q
          .split('&')
          .filter((p) => !p.startsWith(`${k}=`))
          .join('&'),
    ),
  },
  { weight: 1, arbitrary: fc.constant((_q: string) => '') },
);
const typeSegment = fc.oneof(
  { weight: 6, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom('nope', 'VIDEOS', '__proto__'), fc.string({ maxLength: 8 })) },
);

async function opened(app: TestApp): Promise<{ uploadId: string; key: string }> {
  const init = await app.app.inject({
    method: 'POST',
    url: `/videos/upload/multipart/init?${signedQuery('upload-init', SCOPE)}`,
    payload: { contentType: 'video/mp4' },
  });
  assert.equal(init.statusCode, 200, init.body);
  return init.json() as { uploadId: string; key: string };
}

function checkAnswer(res: { statusCode: number; body: string }, where: string) {
  assert.ok(res.statusCode < 500, `${res.statusCode} for ${where}: ${res.body.slice(0, 300)}`);
  if (res.statusCode >= 400) {
    const answer = JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown } };
    assert.equal(typeof answer.error?.code, 'string', `no error code for ${where}: ${res.body.slice(0, 300)}`);
    assert.equal(typeof answer.error?.message, 'string', `no error message for ${where}`);
  }
}

for (const legacy of [false, true]) {
  for (const [label, route] of Object.entries(ROUTES)) {
    test(`${route.method} ${label}${legacy ? ' (legacy rollout on)' : ''}: arbitrary bodies and queries never answer 5xx, and refusals are JSON errors`, async (t) => {
      const app = await makeApp(legacy ? { REQUIRE_PRESIGNED_UPLOADS: 'false' } : {});
      t.after(() => app.close());
      const upload = await opened(app);
      const extra = route.query ? route.query(upload) : fc.constant({});
      const raw = fc.oneof(
        { weight: 8, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom('{', '[1,]', '{"__proto__":{"x":1}}', '\u0000') },
      );
      await fc.assert(
        fc.asyncProperty(
          route.signed,
          extra,
          tamper,
          typeSegment,
          route.body ? route.body(upload) : fc.constant(undefined),
          raw,
          async (signed, q, change, type, payload, rawBody) => {
            const query = change(
              `${signedQuery(route.action, signed)}&${Object.entries(q as Record<string, string>)
                .map(([k, v]) => `${enc(k)}=${enc(v)}`)
                .join('&')}`,
            );
            const path = type === null ? route.path : route.path.replace(/^\/(videos|files)\//, `/${enc(type)}/`);
            const url = `${path}?${query}`;
            const isPut = route.method === 'PUT';
            const res = await app.app.inject({
              method: route.method,
              url,
              headers: isPut
                ? { 'content-type': 'application/octet-stream' }
                : route.body
                  ? { 'content-type': 'application/json' }
                  : {},
              ...(isPut
                ? { payload: DATA }
                : route.body
                  ? { payload: rawBody ?? JSON.stringify(payload ?? null) }
                  : {}),
            });
            checkAnswer(res, `${route.method} ${url} ${rawBody ?? JSON.stringify(payload) ?? ''}`.slice(0, 600));
          },
        ),
        { numRuns: RUNS, includeErrorInReport: true },
      );
    });
  }
}

test('router refusals (a path parameter over 100 characters, a path that does not decode) answer the JSON error shape', async (t) => {
  const app = await makeApp();
  t.after(() => app.close());
  for (const url of [`/${'x'.repeat(101)}/upload/multipart/init`, '/%ED%A0%80/upload/multipart/init']) {
    const res = await app.app.inject({ method: 'POST', url, payload: {} });
    checkAnswer(res, url);
  }
});

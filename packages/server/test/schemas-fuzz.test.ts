import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

/**
 * Every JSON route of the server, fed arbitrary bodies, path params and query strings through
 * `inject()`: never a 5xx, and every refusal is the JSON error shape.
 */

const RUNS = 60;

/** Percent-encodes every UTF-8 byte (lone surrogates included, which encodeURIComponent refuses). */
const enc = (value: string) => Buffer.from(value, 'utf8').toString('hex').replace(/../g, '%$&');

const tricky = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'é',
  '\u2028',
  '..',
  '../x',
  '/',
  '%',
  '%00',
  '__proto__',
  'constructor',
  'x'.repeat(2000),
  'video/mp4;',
  'text/plain; a=1;',
  'vidéo/mp4',
  'a/b\u0007',
  '0',
  '-1',
  '1e309',
  'NaN',
  'true',
  'null',
);
const junk = fc.oneof(fc.jsonValue({ maxDepth: 2 }), tricky, fc.string({ unit: 'binary', maxLength: 30 }));
/** A field that is usually plausible, sometimes anything. */
const field = <T>(plausible: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: junk });

const name = fc.oneof(fc.constantFrom('robotics', 'x', 'org-a'), fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,12}$/));
const hash = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{64}$/),
  fc.constantFrom('A'.repeat(64), 'a'.repeat(63), 'a'.repeat(16)),
);
const fileName = fc.oneof(
  fc.constantFrom('clip.mp4', 'run/1/a.bin', 'a'.repeat(1025)),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
);
const contentType = fc.constantFrom(
  'video/mp4',
  'application/octet-stream',
  'text/plain; charset=utf-8',
  'video/mp4;',
  'a/b\u0007',
  'vidéo/mp4',
);
const assetType = fc.constantFrom('videos', 'audio', 'image', 'text-tracks', 'labels', 'tracks', 'files', 'nope');
const size = fc.oneof(
  fc.integer({ min: -2, max: 100_000 }),
  fc.constantFrom(0, 2 ** 53, 2 ** 60, 1.5, -0, Number.MAX_SAFE_INTEGER),
);
const receipt = fc.record(
  {
    size: field(size),
    contentType: field(contentType),
    exp: field(fc.integer()),
    sig: field(fc.stringMatching(/^[0-9a-f]{64}$/)),
  },
  { requiredKeys: [] },
);
const upload = fc.record(
  {
    filename: field(fileName),
    hash: field(hash),
    contentType: field(contentType),
    type: field(assetType),
    size: field(size),
  },
  { requiredKeys: [] },
);
const register = fc.record(
  {
    name: field(fileName),
    hash: field(hash),
    type: field(assetType),
    contentType: field(contentType),
    receipt: field(receipt),
  },
  { requiredKeys: [] },
);
/** A body: usually the route's shape with plausible or junk fields, sometimes anything at all. */
const body = <T>(shape: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: shape }, { weight: 1, arbitrary: junk });

const query = fc.oneof(
  fc.constant(''),
  fc
    .dictionary(
      fc.oneof(fc.constantFrom('name', 'sig', 'exp', '__proto__'), fc.string({ maxLength: 6 })),
      fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), tricky),
      { maxKeys: 4 },
    )
    .map((q) =>
      Object.entries(q)
        .map(([k, v]) => `${enc(k)}=${enc(v)}`)
        .join('&'),
    ),
  fc.constantFrom('name=a&name=b', 'name[]=a', 'name[a]=b', '%zz', 'name=%ff', '&&=&'),
);
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 10 })) },
);

interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path for namespace `ns`, with `seg` replacing a path part when it is not empty. */
  path(ns: string, seg: string): string;
  body?: fc.Arbitrary<unknown>;
}

const part = (value: string, seg: string) => enc(seg || value);

const ROUTES: Record<string, Route> = {
  signup: {
    method: 'POST',
    path: () => '/auth/signup',
    body: body(fc.record({ username: field(name), password: field(fc.string()) }, { requiredKeys: [] })),
  },
  login: {
    method: 'POST',
    path: () => '/auth/login',
    body: body(fc.record({ username: field(name), password: field(fc.string()) }, { requiredKeys: [] })),
  },
  'create token': {
    method: 'POST',
    path: () => '/auth/tokens',
    body: body(fc.record({ name: field(fc.string({ maxLength: 300 })) }, { requiredKeys: [] })),
  },
  'revoke token': {
    method: 'DELETE',
    path: (_ns, seg) => `/auth/tokens/${part('00000000-0000-7000-8000-000000000000', seg)}`,
  },
  'create org': {
    method: 'POST',
    path: () => '/orgs',
    body: body(fc.record({ name: field(name) }, { requiredKeys: [] })),
  },
  'set member': {
    method: 'PUT',
    path: (ns, seg) => `/orgs/${part(`${ns}-org`, seg)}/members/${part(ns, seg)}`,
    body: body(
      fc.record({ role: field(fc.constantFrom('owner', 'admin', 'writer', 'reader', 'god')) }, { requiredKeys: [] }),
    ),
  },
  'create space': {
    method: 'POST',
    path: (ns, seg) => `/namespaces/${part(ns, seg)}/spaces`,
    body: body(fc.record({ name: field(name) }, { requiredKeys: [] })),
  },
  'upload init': {
    method: 'POST',
    path: () => '/uploads/init',
    body: body(
      fc
        .tuple(upload, fc.record({ namespace: field(name), space: field(name) }, { requiredKeys: [] }))
        .map(([u, w]) => ({ ...u, ...w })),
    ),
  },
  'upload batch': {
    method: 'POST',
    path: () => '/uploads/batch',
    body: body(
      fc.record(
        { namespace: field(name), space: field(name), files: field(fc.array(field(upload), { maxLength: 4 })) },
        { requiredKeys: [] },
      ),
    ),
  },
  'register file': {
    method: 'POST',
    path: (ns, seg) => `/namespaces/${part(ns, seg)}/spaces/robotics/files`,
    body: body(register),
  },
  lookup: {
    method: 'POST',
    path: (ns, seg) => `/namespaces/${ns}/spaces/${part('robotics', seg)}/files/lookup`,
    body: body(
      fc.record(
        {
          files: field(
            fc.array(field(fc.record({ name: field(fileName), hash: field(hash) }, { requiredKeys: [] })), {
              maxLength: 4,
            }),
          ),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  'register batch': {
    method: 'POST',
    path: (ns, seg) => `/namespaces/${ns}/spaces/${part('robotics', seg)}/files/batch`,
    body: body(fc.record({ files: field(fc.array(field(register), { maxLength: 4 })) }, { requiredKeys: [] })),
  },
  'list files': { method: 'GET', path: (ns, seg) => `/namespaces/${part(ns, seg)}/spaces/robotics/files` },
  download: { method: 'GET', path: (ns, seg) => `/namespaces/${ns}/spaces/${part('robotics', seg)}/files/download` },
};

forEachEngine((engine) => {
  const h = useHarness(engine);

  for (const [label, route] of Object.entries(ROUTES)) {
    test(`${route.method} ${label}: arbitrary bodies, paths and queries never answer 5xx, and refusals are JSON errors`, async () => {
      const alice = await h.user('fuzz');
      await h.call('POST', `/namespaces/${alice.name}/spaces`, alice.token, { name: 'robotics' });
      const auth = fc.constantFrom<string | undefined>(alice.token, alice.token, alice.token, undefined, 'garbage');
      const raw = fc.oneof(
        { weight: 6, arbitrary: fc.constant(null) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            '{',
            '{"a":',
            '[1,]',
            '{"__proto__":{"x":1}}',
            '{"constructor":{"prototype":{}}}',
            '\u0000',
          ),
        },
      );
      await fc.assert(
        fc.asyncProperty(
          route.body ?? fc.constant(undefined),
          segment,
          query,
          auth,
          raw,
          async (payload, seg, q, token, rawBody) => {
            const url = `${route.path(alice.name, seg)}${q ? `?${q}` : ''}`;
            const hasBody = route.body !== undefined;
            const res = await h.app.inject({
              method: route.method,
              url,
              headers: {
                ...(token ? { authorization: `Bearer ${token}` } : {}),
                ...(hasBody ? { 'content-type': 'application/json' } : {}),
              },
              ...(hasBody ? { payload: rawBody ?? JSON.stringify(payload ?? null) } : {}),
            });
            const where = `${route.method} ${url} ${hasBody ? (rawBody ?? JSON.stringify(payload)) : ''}`.slice(0, 600);
            assert.ok(res.statusCode < 500, `${res.statusCode} for ${where}: ${res.body.slice(0, 300)}`);
            if (res.statusCode >= 400) {
              const answer = res.json() as { error?: { code?: unknown; message?: unknown } };
              assert.equal(
                typeof answer.error?.code,
                'string',
                `no error code for ${where}: ${res.body.slice(0, 300)}`,
              );
              assert.equal(typeof answer.error?.message, 'string', `no error message for ${where}`);
            }
          },
        ),
        { numRuns: RUNS, includeErrorInReport: true },
      );
    });
  }

  test('a NUL character in a login name, a token name or a token id is a 4xx', async () => {
    const alice = await h.user('nul');
    const answers = [
      await h.call('POST', '/auth/login', undefined, { username: 'a\u0000', password: 'x' }),
      await h.call('POST', '/auth/tokens', alice.token, { name: 'ci\u0000bot' }),
      await h.call('DELETE', '/auth/tokens/%00', alice.token),
    ];
    for (const res of answers) assert.ok(res.statusCode < 500, `${res.statusCode}: ${res.body}`);
  });
});

test('router refusals (a path parameter over 100 characters, a path that does not decode) answer the JSON error shape', async () => {
  const { buildServerApp, openDatabase } = await import('../src/index.ts');
  const { testConfig } = await import('./helpers/harness.ts');
  const config = testConfig({ databaseUrl: ':memory:' });
  const db = await openDatabase(config);
  const app = await buildServerApp({ config, db });
  try {
    for (const url of [`/namespaces/${'x'.repeat(101)}/spaces`, '/namespaces/%ED%A0%80/spaces']) {
      const res = await app.inject({ method: 'GET', url });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode} for ${url}`);
      assert.equal(
        typeof (res.json() as { error?: { code?: unknown } }).error?.code,
        'string',
        `${url}: ${res.body.slice(0, 200)}`,
      );
    }
  } finally {
    await app.close();
    await db.destroy();
  }
});

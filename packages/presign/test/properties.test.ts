import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import { DreamLakeError, MAX_LIFETIME_SECONDS, presign, presignUrl, sign, verify } from '../src/index.ts';

const SECRET = 'property-secret-0123456789abcdef0123';
const NOW = 1_800_000_000;
const SIGNED = ['hash', 'owner', 'project'];

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DreamLakeError, `expected a DreamLakeError, got ${String(err)}`);
    return err.code;
  }
  return 'accepted';
}

function randomParams(): Record<string, string> {
  const text = () => randomBytes(randomInt(1, 12)).toString('base64url');
  return { owner: text(), project: text(), hash: randomBytes(32).toString('hex') };
}

/** Changes one character of a string to a different one. */
function mutate(value: string): string {
  const i = randomInt(0, value.length);
  const ch = value[i] === 'a' ? 'b' : 'a';
  return value.slice(0, i) + ch + value.slice(i + 1);
}

test('changing any signed value by one character makes verification fail', () => {
  for (let round = 0; round < 200; round += 1) {
    const params = randomParams();
    const { query } = presign({ action: 'upload-parts', params, secrets: [SECRET], now: NOW, ttlSeconds: 600 });
    const key = SIGNED[round % SIGNED.length] as string;
    const tampered = { ...query, [key]: mutate(query[key] as string) };
    assert.equal(
      codeOf(() => verify({ action: 'upload-parts', signed: SIGNED, query: tampered, secrets: [SECRET], now: NOW })),
      'bad_signature',
    );
  }
});

test('changing the action or exp makes verification fail', () => {
  const params = randomParams();
  const { query, exp } = presign({ action: 'upload-init', params, secrets: [SECRET], now: NOW, ttlSeconds: 600 });
  for (const action of ['upload-inis', 'upload-init ', 'upload-complete', 'Upload-init']) {
    assert.equal(
      codeOf(() => verify({ action, signed: SIGNED, query, secrets: [SECRET], now: NOW })),
      'bad_signature',
    );
  }
  for (const other of [exp + 1, exp - 1, exp + 10]) {
    const q = { ...query, exp: String(other) };
    assert.equal(
      codeOf(() => verify({ action: 'upload-init', signed: SIGNED, query: q, secrets: [SECRET], now: NOW })),
      'bad_signature',
    );
  }
});

test('parameter order never matters', () => {
  for (let round = 0; round < 50; round += 1) {
    const params = randomParams();
    const entries = Object.entries(params);
    const shuffled = Object.fromEntries([...entries].sort(() => randomInt(0, 3) - 1));
    assert.equal(sign(SECRET, 'download', params, NOW), sign(SECRET, 'download', shuffled, NOW));
    const { query } = presign({ action: 'download', params: shuffled, secrets: [SECRET], now: NOW, ttlSeconds: 60 });
    const signed = [...SIGNED].reverse();
    assert.deepEqual(verify({ action: 'download', signed, query, secrets: [SECRET], now: NOW }).params, params);
  }
});

test('rotation: the first secret signs, any active secret verifies, a retired one does not', () => {
  const params = randomParams();
  const old = presign({ action: 'stat', params, secrets: ['old-secret'], now: NOW, ttlSeconds: 60 });
  const fresh = presign({ action: 'stat', params, secrets: ['new-secret', 'old-secret'], now: NOW, ttlSeconds: 60 });
  assert.equal(fresh.query.sig, sign('new-secret', 'stat', params, fresh.exp));
  const check = (query: Record<string, string>, secrets: string[]) =>
    codeOf(() => verify({ action: 'stat', signed: SIGNED, query, secrets, now: NOW }));
  assert.equal(check(old.query, ['new-secret', 'old-secret']), 'accepted');
  assert.equal(check(fresh.query, ['new-secret', 'old-secret']), 'accepted');
  assert.equal(check(old.query, ['new-secret']), 'bad_signature');
});

test('expiry is exact to the second and the lifetime is capped', () => {
  const params = randomParams();
  const { query, exp } = presign({ action: 'stat', params, secrets: [SECRET], now: NOW, ttlSeconds: 60 });
  const at = (now: number, max?: number) =>
    codeOf(() => verify({ action: 'stat', signed: SIGNED, query, secrets: [SECRET], now, maxLifetimeSeconds: max }));
  assert.equal(at(exp), 'accepted');
  assert.equal(at(exp + 1), 'expired_signature');
  assert.equal(at(NOW, 30), 'bad_signature');
  const far = NOW + MAX_LIFETIME_SECONDS + 1;
  const longQuery = { ...params, exp: String(far), sig: sign(SECRET, 'stat', params, far) };
  assert.equal(
    codeOf(() => verify({ action: 'stat', signed: SIGNED, query: longQuery, secrets: [SECRET], now: NOW })),
    'bad_signature',
  );
  assert.throws(
    () => presign({ action: 'stat', params, secrets: [SECRET], now: NOW, ttlSeconds: MAX_LIFETIME_SECONDS + 1 }),
    TypeError,
  );
});

test('strict parsing of exp, sig and repeated params', () => {
  const params = randomParams();
  const { query } = presign({ action: 'stat', params, secrets: [SECRET], now: NOW, ttlSeconds: 60 });
  const check = (q: Record<string, string | string[] | undefined>) =>
    codeOf(() => verify({ action: 'stat', signed: SIGNED, query: q, secrets: [SECRET], now: NOW }));
  assert.equal(check({ ...params }), 'missing_signature');
  assert.equal(check({ ...query, sig: undefined }), 'malformed_signature');
  assert.equal(check({ ...query, exp: undefined }), 'malformed_signature');
  for (const exp of ['1.5e9', '-5', ' 1800000060', '0x6B49D200', ''])
    assert.equal(check({ ...query, exp }), 'malformed_signature');
  assert.equal(check({ ...query, sig: (query.sig as string).toUpperCase() }), 'bad_signature');
  assert.equal(check({ ...query, sig: (query.sig as string).slice(0, 63) }), 'bad_signature');
  assert.equal(check({ ...query, sig: `${query.sig}00` }), 'bad_signature');
  assert.equal(check({ ...query, owner: [params.owner as string, 'mallory'] }), 'malformed_signature');
  assert.equal(check({ ...query, sig: [query.sig as string, query.sig as string] }), 'malformed_signature');
});

test('presignUrl puts signed params, exp, sig and extras in the query', () => {
  const params = { owner: 'a&b', project: 'p q', hash: 'h' };
  const { url } = presignUrl('http://bss.example:10234', '/videos/upload/multipart/init', {
    action: 'upload-init',
    params,
    secrets: [SECRET],
    now: NOW,
    ttlSeconds: 60,
    extra: { note: 'x' },
  });
  const parsed = new URL(url);
  assert.equal(parsed.pathname, '/videos/upload/multipart/init');
  const query = Object.fromEntries(parsed.searchParams);
  assert.equal(query.note, 'x');
  assert.equal(
    verify({ action: 'upload-init', signed: SIGNED, query, secrets: [SECRET], now: NOW }).params.owner,
    'a&b',
  );
});

test('presignUrl resolves the path as WHATWG URL does and its query reads back as signed, extras first', () => {
  const params = { owner: "o w/n&e=r'~*()!", project: 'prøject', hash: 'h', size: '5' };
  const cases: Array<[string, string]> = [
    ['http://bss.example:10234', 'videos/upload/multipart/init'],
    ['http://bss.example:10234/', 'blobs/stat'],
    ['https://cdn.example/bss', 'blobs/download'],
    ['https://cdn.example/bss/', '/blobs/download'],
    ['https://cdn.example/a/b/', '../c/./d'],
    ['https://cdn.example/', 'a b/ü'],
    ['https://cdn.example', 'x/.hidden'],
  ];
  for (const [base, path] of cases) {
    const options = { action: 'download', params, secrets: [SECRET], now: NOW, ttlSeconds: 60 };
    const { url, exp } = presignUrl(base, path, { ...options, extra: { note: 'n o' } });
    const parsed = new URL(url);
    const expected = new URL(path, base.endsWith('/') ? base : `${base}/`);
    assert.equal(`${parsed.origin}${parsed.pathname}`, expected.href, `${base} + ${path}`);
    assert.deepEqual([...parsed.searchParams.keys()], ['note', 'owner', 'project', 'hash', 'size', 'exp', 'sig']);
    const query = Object.fromEntries(parsed.searchParams);
    assert.equal(query.exp, String(exp));
    assert.deepEqual(
      verify({ action: 'download', signed: Object.keys(params), query, secrets: [SECRET], now: NOW }).params,
      params,
    );
    assert.equal(presignUrl(base, path, options).url, url.replace('note=n%20o&', ''), 'extras only add themselves');
  }
});

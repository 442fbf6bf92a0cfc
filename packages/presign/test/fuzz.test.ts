import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  DreamLakeError,
  MAX_LIFETIME_SECONDS,
  presign,
  type RawQuery,
  signReceipt,
  verify,
  verifyReceipt,
} from '../src/index.ts';

const SECRET = 'fuzz-secret-0123456789abcdef0123456789';
const OTHER = 'fuzz-other-secret-0123456789abcdef0123';
const NOW = 1_800_000_000;
const SIGNED = ['hash', 'owner', 'project'];
const RUNS = { numRuns: 300 };

/** Runs `fn`; a DreamLakeError is an answer, any other exception fails the property. */
function outcome<T>(fn: () => T): T | DreamLakeError {
  try {
    return fn();
  } catch (error) {
    assert.ok(error instanceof DreamLakeError, `threw ${String(error)} instead of a DreamLakeError`);
    return error;
  }
}

const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', '0', '-1', '1e3', ' 1', '0x10', 'NaN', '__proto__', 'constructor', '9'.repeat(40)),
);
const hexSig = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 60, maxLength: 68 });
const value = fc.oneof(text, fc.array(text, { maxLength: 3 }), fc.constant(undefined));
const key = fc.oneof(
  fc.constantFrom('sig', 'exp', 'owner', 'project', 'hash', 'size', 'uploadId', '__proto__', 'constructor'),
  fc.string({ maxLength: 8 }),
);
const query = fc.dictionary(key, fc.oneof(value, hexSig, fc.integer({ min: 0, max: 2 * NOW }).map(String)), {
  maxKeys: 8,
});
const now = fc.oneof(fc.constant(NOW), fc.integer({ min: -1, max: 4 * NOW }), fc.double());
const signedNames = fc.oneof(fc.constant(SIGNED), fc.array(key, { maxLength: 4 }));

test('verify answers a scope or a DreamLakeError for any query, params, exp, sig and clock', () => {
  fc.assert(
    fc.property(
      query,
      signedNames,
      now,
      fc.option(fc.integer({ min: 0, max: MAX_LIFETIME_SECONDS })),
      (q, signed, at, maxLifetime) => {
        const result = outcome(() =>
          verify({
            action: 'upload-init',
            signed,
            query: q as RawQuery,
            secrets: [SECRET, OTHER],
            now: at,
            ...(maxLifetime === null ? {} : { maxLifetimeSeconds: maxLifetime }),
          }),
        );
        if (!(result instanceof DreamLakeError))
          assert.fail(`an unsigned random query was accepted: ${JSON.stringify(q)}`);
      },
    ),
    RUNS,
  );
});

/** A genuinely signed query, then changed in one of the ways a client could change it. */
const tampered = fc.record({
  params: fc.record({ owner: text, project: text, hash: text }),
  ttl: fc.integer({ min: 1, max: MAX_LIFETIME_SECONDS }),
  change: fc.constantFrom('none', 'drop', 'repeat', 'replace', 'exp', 'sig-case', 'extra', 'clock'),
  target: fc.constantFrom('owner', 'project', 'hash', 'exp', 'sig'),
  replacement: text,
  skew: fc.integer({ min: -2 * MAX_LIFETIME_SECONDS, max: 2 * MAX_LIFETIME_SECONDS }),
});

test('a signed query changed in any way is refused with a DreamLakeError, and accepted unchanged', () => {
  fc.assert(
    fc.property(tampered, ({ params, ttl, change, target, replacement, skew }) => {
      const { query: signedQuery, exp } = presign({
        action: 'upload-parts',
        params,
        secrets: [SECRET],
        now: NOW,
        ttlSeconds: ttl,
      });
      const q: Record<string, string | string[] | undefined> = { ...signedQuery };
      let at = NOW;
      if (change === 'drop') delete q[target];
      if (change === 'repeat') q[target] = [String(q[target]), String(q[target])];
      if (change === 'replace') q[target] = replacement;
      if (change === 'exp') q.exp = String(exp + (skew === 0 ? 1 : skew));
      if (change === 'sig-case') q.sig = String(q.sig).toUpperCase();
      if (change === 'extra') q[`x${replacement}`] = replacement;
      if (change === 'clock') at = NOW + skew;
      const result = outcome(() =>
        verify({ action: 'upload-parts', signed: SIGNED, query: q, secrets: [OTHER, SECRET], now: at }),
      );
      const unchanged =
        change === 'none' ||
        change === 'extra' ||
        (change === 'replace' && replacement === signedQuery[target]) ||
        (change === 'sig-case' && signedQuery.sig === String(signedQuery.sig).toUpperCase()) ||
        (change === 'clock' && at <= exp && exp - at <= MAX_LIFETIME_SECONDS);
      if (unchanged) {
        assert.ok(
          !(result instanceof DreamLakeError),
          `refused an unchanged URL: ${result instanceof Error ? result.code : ''}`,
        );
        assert.deepEqual(result.params, { ...params });
        assert.equal(result.exp, exp);
      } else {
        assert.ok(result instanceof DreamLakeError, `accepted a URL changed by ${change} of ${target}`);
      }
    }),
    RUNS,
  );
});

test('any signed params come back from verify exactly as they were signed', () => {
  const name = fc
    .string({ minLength: 1, maxLength: 10 })
    .filter((k) => k !== 'sig' && k !== 'exp' && k !== '__proto__');
  fc.assert(
    fc.property(
      fc.dictionary(name, fc.string({ unit: 'binary', maxLength: 30 }), { minKeys: 1, maxKeys: 6 }),
      fc.integer({ min: 1, max: 3600 }),
      (params, ttl) => {
        const { query } = presign({ action: 'download', params, secrets: [SECRET], now: NOW, ttlSeconds: ttl });
        const scope = verify({ action: 'download', signed: Object.keys(params), query, secrets: [SECRET], now: NOW });
        assert.deepEqual(scope.params, { ...params });
      },
    ),
    RUNS,
  );
});

test('verifyReceipt answers the blob or a DreamLakeError for any receipt', () => {
  const blob = { owner: 'alice', project: 'p', hash: 'a'.repeat(64) };
  const genuine = signReceipt([SECRET], { ...blob, size: 10, contentType: 'video/mp4' }, NOW, 600);
  const anything = fc.oneof(fc.anything(), fc.integer(), fc.double(), text);
  const receipt = fc.record({
    size: fc.oneof(fc.constant(genuine.size), anything),
    contentType: fc.oneof(fc.constant(genuine.contentType), anything),
    exp: fc.oneof(fc.constant(genuine.exp), anything),
    sig: fc.oneof(fc.constant(genuine.sig), anything),
  });
  fc.assert(
    fc.property(receipt, now, (r, at) => {
      const result = outcome(() => verifyReceipt([SECRET], blob, r as never, at));
      if (!(result instanceof DreamLakeError)) {
        assert.equal(r.sig, genuine.sig);
        assert.deepEqual(result, { size: genuine.size, contentType: genuine.contentType });
      }
    }),
    RUNS,
  );
});

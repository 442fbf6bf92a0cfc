import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { canonicalString, DreamLakeError, sign, verify } from '../src/index.ts';

// The contract's vectors, kept here as test data; when the contract's own copy sits beside the
// repository, the two must be the same.
const vectorsPath = fileURLToPath(new URL('./fixtures/presign-vectors.json', import.meta.url));
const contractPath = fileURLToPath(new URL('../../../../shared/spec/presign-vectors.json', import.meta.url));
interface Vector {
  name: string;
  action: string;
  params: Record<string, string>;
  exp: number | string;
  sig: string;
  canonical?: string;
  secret?: string;
  now?: number;
  reason?: string;
}
const vectors = JSON.parse(readFileSync(vectorsPath, 'utf8')) as {
  secret: string;
  valid: Vector[];
  invalid: Vector[];
  [key: string]: unknown;
};

const CODE_FOR_REASON: Record<string, string> = {
  expired: 'expired_signature',
  'bad-signature': 'bad_signature',
  malformed: 'malformed_signature',
};

// A vector with its own secret was signed by an older one: verify with both active, the
// current first, as during a rotation.
function secretsOf(v: Vector): string[] {
  return v.secret && v.secret !== vectors.secret ? [vectors.secret, v.secret] : [vectors.secret];
}

function queryOf(v: Vector): Record<string, string> {
  return { ...v.params, exp: String(v.exp), sig: v.sig };
}

test('the vectors file holds valid and invalid cases', () => {
  assert.ok(vectors.valid.length >= 5);
  assert.ok(vectors.invalid.length >= 5);
});

for (const v of vectors.valid) {
  test(`valid: ${v.name}`, () => {
    if (v.canonical !== undefined) assert.equal(canonicalString(v.action, v.params, Number(v.exp)), v.canonical);
    const secrets = secretsOf(v);
    // The signer's secret: for rotation vectors, whichever of the listed secrets produced it.
    assert.ok(
      secrets.some((s) => sign(s, v.action, v.params, Number(v.exp)) === v.sig),
      'sig recomputes',
    );
    const now = v.now ?? Number(v.exp) - 60;
    const scope = verify({ action: v.action, signed: Object.keys(v.params), query: queryOf(v), secrets, now });
    assert.deepEqual(scope.params, v.params);
    assert.equal(scope.exp, Number(v.exp));
  });
}

for (const v of vectors.invalid) {
  test(`invalid (${v.reason}): ${v.name}`, () => {
    const expected = CODE_FOR_REASON[v.reason ?? ''];
    assert.ok(expected, `known reason ${v.reason}`);
    // The verifier is told which params the action signs; a dropped one must still be refused.
    const signed = ['hash', 'owner', 'project'];
    assert.throws(
      () => verify({ action: v.action, signed, query: queryOf(v), secrets: secretsOf(v), now: v.now ?? 0 }),
      (err: unknown) => err instanceof DreamLakeError && err.code === expected,
    );
  });
}

test("the vectors kept here are the contract's own", {
  skip: existsSync(contractPath) ? false : "the contract's copy is not beside this repository",
}, () => {
  assert.deepEqual(JSON.parse(readFileSync(vectorsPath, 'utf8')), JSON.parse(readFileSync(contractPath, 'utf8')));
});

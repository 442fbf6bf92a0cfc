import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ASSET_TYPES, isAssetType } from '@dreamlake/bss';
import fc from 'fast-check';
import { name as bssName, fullHash, initBody } from '../packages/bss/src/http/schemas.ts';
import {
  assetTypeSchema,
  contentTypeSchema,
  fileNameSchema,
  hashSchema,
  nameSchema,
} from '../packages/server/src/names.ts';

/**
 * What the server grants, BSS takes: every value the server's validators accept for a grant
 * (content type, file name, namespace and space, hash, asset type) is accepted by BSS's own
 * validators for the init it leads to. Strings are drawn near the rules' edges: printable ASCII
 * with separators, control characters and non-ASCII.
 */
const edgy = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'abc/;= "\\.+-_*\t\u0000\u007f\u0085é😀'.split('')), maxLength: 40 }),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('video/mp4', 'video/mp4;', 'text/plain; charset=utf-8', 'text/plain; a=1;', 'a/b; c="d\\"e"'),
);

test('a content type the server grants is one BSS init takes', () => {
  fc.assert(
    fc.property(edgy, (contentType) => {
      if (!contentTypeSchema.safeParse(contentType).success) return;
      assert.ok(initBody.safeParse({ contentType }).success, JSON.stringify(contentType));
    }),
    { numRuns: 3000 },
  );
});

test('a file name the server grants is one BSS init takes', () => {
  fc.assert(
    fc.property(fc.oneof(edgy, fc.string({ minLength: 1000, maxLength: 1100 })), (filename) => {
      if (!fileNameSchema.safeParse(filename).success) return;
      assert.ok(initBody.safeParse({ filename }).success, JSON.stringify(filename));
    }),
    { numRuns: 3000 },
  );
});

/**
 * Runs `check` on values drawn from `values` and returns how many the server accepted and refused:
 * a generator whose values the server all refuses (or all accepts) asserts nothing, so each test
 * below also asserts that both shares are fair.
 */
function agreement<T>(
  values: fc.Arbitrary<T>,
  serverAccepts: (value: T) => boolean,
  bssAccepts: (value: T) => boolean,
) {
  const shares = { accepted: 0, refused: 0 };
  fc.assert(
    fc.property(values, (value) => {
      if (!serverAccepts(value)) {
        shares.refused += 1;
        return;
      }
      shares.accepted += 1;
      assert.ok(bssAccepts(value), JSON.stringify(value));
    }),
    { numRuns: 3000 },
  );
  return shares;
}

/** Both shares of the drawn values are at least a quarter of the runs. */
function assertFair(shares: { accepted: number; refused: number }) {
  const runs = shares.accepted + shares.refused;
  assert.ok(shares.accepted >= runs / 4, `only ${shares.accepted} of ${runs} values were accepted by the server`);
  assert.ok(shares.refused >= runs / 4, `only ${shares.refused} of ${runs} values were refused by the server`);
}

test('a name the server grants is one BSS takes (drawn half accepted, half near misses)', () => {
  const names = fc.oneof(
    fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,62}$/),
    fc.oneof(edgy, fc.stringMatching(/^[a-z0-9._-]{60,70}$/), fc.stringMatching(/^[-._A-Z][a-z0-9._-]{0,10}$/)),
  );
  const shares = agreement(
    names,
    (value) => nameSchema.safeParse(value).success,
    (value) => bssName.safeParse(value).success,
  );
  assertFair(shares);
});

test('a hash the server grants is one BSS takes (drawn half accepted, half near misses)', () => {
  const hashes = fc.oneof(
    fc.stringMatching(/^[0-9a-f]{64}$/),
    fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{60,68}$/), fc.stringMatching(/^[0-9a-f]{16}$/), edgy),
  );
  const shares = agreement(
    hashes,
    (value) => hashSchema.safeParse(value).success,
    (value) => fullHash.safeParse(value).success,
  );
  assertFair(shares);
});

test('an asset type the server grants is one BSS serves (drawn half accepted, half near misses)', () => {
  const types = fc.oneof(
    fc.constantFrom(...ASSET_TYPES),
    fc.oneof(
      fc.constantFrom(...ASSET_TYPES).map((type) => type.toUpperCase()),
      fc.constantFrom(...ASSET_TYPES).map((type) => `${type}s`),
      fc.constantFrom(...ASSET_TYPES).map((type) => type.slice(0, -1)),
      edgy,
    ),
  );
  const shares = agreement(
    types,
    (value) => assetTypeSchema.safeParse(value).success,
    (value) => isAssetType(value),
  );
  assertFair(shares);
});

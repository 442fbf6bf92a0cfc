import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAssetType } from '@dreamlake/bss';
import fc from 'fast-check';
import { name as bssName, fullHash, initBody } from '../../bss/src/http/schemas.ts';
import { assetTypeSchema, contentTypeSchema, fileNameSchema, hashSchema, nameSchema } from '../../server/src/names.ts';

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

test('names, hashes and asset types the server grants are ones BSS takes', () => {
  fc.assert(
    fc.property(fc.oneof(edgy, fc.stringMatching(/^[a-z0-9._-]{1,70}$/)), (value) => {
      if (nameSchema.safeParse(value).success) assert.ok(bssName.safeParse(value).success, value);
      if (assetTypeSchema.safeParse(value).success) assert.ok(isAssetType(value), value);
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{60,68}$/), edgy), (hash) => {
      if (hashSchema.safeParse(hash).success) assert.ok(fullHash.safeParse(hash).success, hash);
    }),
  );
});

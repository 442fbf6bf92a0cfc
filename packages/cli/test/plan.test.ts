import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  choosePartSize,
  GROWN_PART_SIZE,
  MAX_PARTS,
  MIB,
  MIN_PART_SIZE,
  partCount,
  planParts,
} from '../src/transfer/plan.ts';

test('files up to 320 MiB use 5 MiB parts; larger ones about 64 parts, of at most 16 MiB', () => {
  assert.equal(choosePartSize(0), MIN_PART_SIZE);
  assert.equal(choosePartSize(1), MIN_PART_SIZE);
  assert.equal(choosePartSize(320 * MIB), MIN_PART_SIZE);
  assert.equal(choosePartSize(320 * MIB + 1), 6 * MIB);
  assert.equal(choosePartSize(1024 * MIB), GROWN_PART_SIZE);
  assert.equal(partCount(1024 * MIB, choosePartSize(1024 * MIB)), 64);
  assert.equal(choosePartSize(100 * 1024 * MIB), GROWN_PART_SIZE);
});

test('a 500 GB file stays within 10,000 parts of at least 5 MiB, in whole MiB', () => {
  const size = 500 * 1000 ** 3;
  const partSize = choosePartSize(size);
  assert.ok(partSize >= MIN_PART_SIZE);
  assert.equal(partSize % MIB, 0);
  assert.ok(partCount(size, partSize) <= MAX_PARTS);
  assert.ok(partCount(size, partSize - MIB) > MAX_PARTS, 'the smallest such part size is chosen');
});

test('exactly 10,000 parts of 16 MiB still fits; one byte more grows the parts', () => {
  const edge = MAX_PARTS * GROWN_PART_SIZE;
  assert.equal(choosePartSize(edge), GROWN_PART_SIZE);
  assert.equal(choosePartSize(edge + 1), 17 * MIB);
});

test('parts cover the file exactly, the last one short, an empty file has one empty part', () => {
  const parts = planParts(12 * MIB + 3, MIN_PART_SIZE);
  assert.deepEqual(
    parts.map((p) => [p.partNumber, p.start, p.end]),
    [
      [1, 0, 5 * MIB],
      [2, 5 * MIB, 10 * MIB],
      [3, 10 * MIB, 12 * MIB + 3],
    ],
  );
  assert.deepEqual(planParts(0, MIN_PART_SIZE), [{ partNumber: 1, start: 0, end: 0 }]);
});

test('sizes that cannot be uploaded are refused', () => {
  assert.throws(() => choosePartSize(-1), RangeError);
  assert.throws(() => choosePartSize(MAX_PARTS * 5 * 1024 * MIB + 1), RangeError);
});

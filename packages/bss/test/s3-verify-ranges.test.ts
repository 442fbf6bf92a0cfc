import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { rangeSize } from '../src/storage/s3/verify.ts';

const MiB = 1024 * 1024;

test('an object is read back in ranges spread over the parallel reads, within the memory bound', () => {
  const options = { chunkSize: 8 * MiB, concurrency: 4 };
  assert.equal(rangeSize(20 * MiB, options), 5 * MiB, 'a 20 MiB object: 4 reads of 5 MiB at once');
  assert.equal(rangeSize(2 * MiB + 1, options), MiB, 'small objects: ranges of at least 1 MiB');
  assert.equal(rangeSize(10 * 1024 * MiB, options), 8 * MiB, 'large objects: never past chunkSize');
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.integer({ min: 1, max: 64 }).map((n) => n * MiB),
      fc.integer({ min: 1, max: 16 }),
      (size, chunkSize, concurrency) => {
        const range = rangeSize(size, { chunkSize, concurrency });
        assert.ok(range <= Math.max(MiB, chunkSize), 'memory stays within chunkSize × concurrency');
        assert.ok(range >= MiB);
        // An object that fits in one wave of reads is read in one wave: every range at once.
        if (size <= chunkSize * concurrency) assert.ok(Math.ceil(size / range) <= concurrency);
      },
    ),
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { CRC32_BASE64, crc32Base64, crc32Etag } from '../src/part-checks.ts';

test('crc32Base64 writes the four big-endian bytes, as S3 reads x-amz-checksum-crc32', () => {
  // CRC-32 of "hello" is 0x3610a686.
  assert.equal(crc32Base64(crc32(Buffer.from('hello'))), Buffer.from([0x36, 0x10, 0xa6, 0x86]).toString('base64'));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const value = crc32(bytes);
      const text = crc32Base64(value);
      assert.match(text, CRC32_BASE64);
      assert.equal(Buffer.from(text, 'base64').readUInt32BE(0), value);
    }),
  );
});

test('crc32Etag is the CRC-32 and the size in hex, different for another size', () => {
  const crc = crc32Base64(0x3610a686);
  assert.equal(crc32Etag(crc, 5), '3610a686000000000005');
  assert.notEqual(crc32Etag(crc, 5 * 1024 * 1024), crc32Etag(crc, 5));
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { crc32Base64 } from '@dreamlake/protocol';
import { digestBytes, digestFile, HashCache, hashFile, partMd5 } from '../src/upload/hash.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'dreamlake-hash-'));
}

test('one read gives the SHA-256 of the whole and the CRC-32 of every part (also across the read buffer)', async () => {
  const dir = await tempDir();
  try {
    const data = Buffer.alloc(9_500_000);
    for (let i = 0; i < data.length; i += 1) data[i] = (i * 31) & 0xff;
    const path = join(dir, 'f.bin');
    await writeFile(path, data);
    const digest = await digestFile(path, 3_000_000);
    assert.equal(digest.sha256, createHash('sha256').update(data).digest('hex'));
    const crc = (b: Buffer) => crc32Base64(crc32(b));
    assert.deepEqual(digest.partCrc32, [
      crc(data.subarray(0, 3e6)),
      crc(data.subarray(3e6, 6e6)),
      crc(data.subarray(6e6, 9e6)),
      crc(data.subarray(9e6)),
    ]);
    assert.deepEqual(digestBytes(data, 3_000_000), digest, 'bytes in memory give the same digest');
    assert.equal(
      await partMd5(path, { start: 3e6, end: 6e6 }),
      createHash('md5').update(data.subarray(3e6, 6e6)).digest('base64'),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an empty file has one part: the CRC-32 of nothing', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, 'empty');
    await writeFile(path, '');
    const digest = await digestFile(path, 5 * 1024 * 1024);
    assert.equal(digest.sha256, createHash('sha256').digest('hex'));
    assert.deepEqual(digest.partCrc32, ['AAAAAA==']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a second run takes the hash from the cache without reading the file; a change is noticed', async () => {
  const dir = await tempDir();
  try {
    const home = join(dir, 'home');
    const path = join(dir, 'clip.mp4');
    await writeFile(path, 'first contents');
    const mtime = new Date(1_700_000_000_000);
    await utimes(path, mtime, mtime);
    const cache = new HashCache(home);
    const first = await hashFile(cache, path, 5 * 1024 * 1024);
    assert.equal(first.cached, false);
    await cache.flush();
    assert.equal(first.digest.sha256, createHash('sha256').update('first contents').digest('hex'));
    assert.equal((await stat(join(home, 'hash-cache.json'))).mode & 0o777, 0o600);

    // Same size and mtime, other bytes: only a run that does not read the file answers the old hash.
    await writeFile(path, 'other contents');
    await utimes(path, mtime, mtime);
    let read = 0;
    const secondCache = new HashCache(home);
    const second = await hashFile(secondCache, path, 5 * 1024 * 1024, (n) => {
      read += n;
    });
    assert.equal(second.cached, true);
    assert.equal(read, 0);
    assert.equal(second.digest.sha256, first.digest.sha256);
    await secondCache.flush();

    // A new mtime makes it read again.
    const later = new Date(mtime.getTime() + 5000);
    await utimes(path, later, later);
    const third = await hashFile(new HashCache(home), path, 5 * 1024 * 1024);
    assert.equal(third.cached, false);
    assert.equal(third.digest.sha256, createHash('sha256').update('other contents').digest('hex'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { crc32Base64 } from '@dreamlake/protocol';
import { digestBytes, digestFile, partMd5 } from '../src/transfer/digest.ts';
import { HashCache } from '../src/transfer/hash-cache.ts';
import { hashFile } from '../src/transfer/hash-file.ts';

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

test('part MD5s computed at once, more of them than read buffers kept, each of its own range', async () => {
  const dir = await tempDir();
  try {
    const data = Buffer.alloc(12 * 1_100_000 + 12_345);
    for (let i = 0; i < data.length; i += 1) data[i] = (i * 7 + (i >> 13)) & 0xff;
    const path = join(dir, 'f.bin');
    await writeFile(path, data);
    // Ranges larger than the read buffer (1 MiB), 13 at once: a buffer read into by two of them
    // at once would give a wrong MD5 somewhere.
    const ranges = Array.from({ length: 13 }, (_, i) => ({
      start: i * 1_100_000,
      end: Math.min(data.length, (i + 1) * 1_100_000),
    }));
    for (let round = 0; round < 2; round += 1) {
      const md5s = await Promise.all(ranges.map((range) => partMd5(path, range)));
      assert.deepEqual(
        md5s,
        ranges.map((r) => createHash('md5').update(data.subarray(r.start, r.end)).digest('base64')),
      );
    }
    await assert.rejects(partMd5(path, { start: data.length - 10, end: data.length + 10 }), /ended before byte/);
    assert.equal(
      await partMd5(path, { start: 0, end: 3 }),
      createHash('md5').update(data.subarray(0, 3)).digest('base64'),
      'a read buffer given back after a failed read still serves',
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

test('the cache file: a head line, then an entry a line appended as files are read; an older version is read again once', async () => {
  const dir = await tempDir();
  try {
    const home = join(dir, 'home');
    const cacheFile = join(home, 'hash-cache.json');
    const paths = ['a "quoted"\nname.bin', 'b.bin', 'c.bin'].map((name) => join(dir, name));
    for (const [i, path] of paths.entries()) await writeFile(path, `contents ${i}`);
    const cache = new HashCache(home);
    for (const path of paths.slice(0, 2)) await hashFile(cache, path, 5 * 1024 * 1024);
    await cache.flush();
    await hashFile(cache, paths[2] as string, 5 * 1024 * 1024);
    await cache.flush();
    const lines = (await readFile(cacheFile, 'utf8')).trimEnd().split('\n');
    assert.deepEqual(JSON.parse(lines[0] as string), { version: 4 });
    assert.deepEqual(
      lines.slice(1).map((line) => (JSON.parse(line) as [string, string])[0]),
      paths,
    );

    let read = 0;
    const again = new HashCache(home);
    for (const [i, path] of paths.entries()) {
      const hit = await hashFile(again, path, 5 * 1024 * 1024, (n) => (read += n));
      assert.equal(hit.cached, true);
      assert.equal(hit.digest.sha256, createHash('sha256').update(`contents ${i}`).digest('hex'));
    }
    assert.equal(read, 0);

    // A file changed since: read again, and its new entry is the one a later run finds.
    await writeFile(paths[1] as string, 'contents changed');
    const changed = await hashFile(again, paths[1] as string, 5 * 1024 * 1024);
    assert.equal(changed.cached, false);
    await again.flush();
    const third = await hashFile(new HashCache(home), paths[1] as string, 5 * 1024 * 1024);
    assert.equal(third.cached, true);
    assert.equal(third.digest.sha256, createHash('sha256').update('contents changed').digest('hex'));

    // A cache of version 3 (one object of entries) is not taken: its files are read once more,
    // and the file is written anew in the current version.
    const info = await stat(paths[0] as string);
    const v3 = {
      version: 3,
      entries: { [paths[0] as string]: `${info.size}:${info.mtimeMs}:5242880:${'0'.repeat(64)}:AAAAAA==` },
    };
    await writeFile(cacheFile, JSON.stringify(v3));
    const fromV3 = new HashCache(home);
    const old = await hashFile(fromV3, paths[0] as string, 5 * 1024 * 1024);
    assert.equal(old.cached, false);
    assert.equal(old.digest.sha256, createHash('sha256').update('contents 0').digest('hex'));
    await fromV3.flush();
    assert.equal((await hashFile(new HashCache(home), paths[0] as string, 5 * 1024 * 1024)).cached, true);
    assert.equal((await stat(cacheFile)).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a listed size and mtime stand for the file: a cache hit needs no stat, a file changed since listing is not cached', async () => {
  const dir = await tempDir();
  try {
    const home = join(dir, 'home');
    const path = join(dir, 'frame.jpg');
    await writeFile(path, 'listed');
    const listed = await stat(path);
    const cache = new HashCache(home);
    const first = await hashFile(cache, path, 5 * 1024 * 1024, undefined, 1024, listed);
    assert.equal(first.cached, false);
    assert.equal(first.bytes?.toString(), 'listed');
    await cache.flush();
    // The stamp it was listed with finds the entry, whatever the file is now.
    await writeFile(path, 'changed!');
    const next = new HashCache(home);
    const hit = await hashFile(next, path, 5 * 1024 * 1024, undefined, 1024, listed);
    assert.equal(hit.cached, true);
    assert.equal(hit.digest.sha256, first.digest.sha256);

    // Listed, then changed before it is read: its bytes are read and hashed, but not cached.
    const before = await stat(path);
    const stale = { size: before.size, mtimeMs: before.mtimeMs - 5000 };
    const read = await hashFile(next, path, 5 * 1024 * 1024, undefined, 1024, stale);
    assert.equal(read.cached, false);
    assert.equal(read.digest.sha256, createHash('sha256').update('changed!').digest('hex'));
    await next.flush();
    const again = await hashFile(new HashCache(home), path, 5 * 1024 * 1024, undefined, 1024, stale);
    assert.equal(again.cached, false, 'a read of a file that changed since its listing is not kept');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a cache answers a path once (its entry then leaves memory, not the file); a file of mostly replaced lines is compacted', async () => {
  const dir = await tempDir();
  try {
    const home = join(dir, 'home');
    const cacheFile = join(home, 'hash-cache.json');
    const path = join(dir, 'shot.jpg');
    await writeFile(path, 'pixels');
    const first = new HashCache(home);
    await hashFile(first, path, 5 * 1024 * 1024);
    await first.flush();

    const run = new HashCache(home);
    assert.equal((await hashFile(run, path, 5 * 1024 * 1024)).cached, true);
    assert.equal((await hashFile(run, path, 5 * 1024 * 1024)).cached, false, 'asked again, the file is read');
    await run.flush();
    assert.equal((await hashFile(new HashCache(home), path, 5 * 1024 * 1024)).cached, true);

    // Thousands of lines for one path: the next run writes the file anew with one line.
    const line = (await readFile(cacheFile, 'utf8')).trimEnd().split('\n')[1] as string;
    await writeFile(cacheFile, `{"version":4}\n${`${line}\n`.repeat(3000)}`);
    const compacting = new HashCache(home);
    assert.equal((await hashFile(compacting, path, 5 * 1024 * 1024)).cached, true);
    assert.deepEqual((await readFile(cacheFile, 'utf8')).trimEnd().split('\n'), ['{"version":4}', line]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

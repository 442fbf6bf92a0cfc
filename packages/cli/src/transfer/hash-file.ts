import { open, stat } from 'node:fs/promises';
import { digestBytes, digestFile, type FileDigest } from './digest.ts';
import type { HashCache } from './hash-cache.ts';

export interface HashResult {
  digest: FileDigest;
  /** True when the digest came from the cache and the file was not read. */
  cached: boolean;
  /** The bytes that were hashed, when the caller asked to keep them (a small file read now). */
  bytes?: Buffer;
}

/**
 * Reads a small file whole through one open handle and compares its stat after the read with the
 * one taken before (a file that changed meanwhile is not cached). Its bytes then serve both the
 * hash and the upload: a folder of many small files is read once, not twice.
 */
async function readWhole(path: string, before: FileStamp): Promise<{ bytes: Buffer; unchanged: boolean }> {
  const handle = await open(path, 'r');
  try {
    // Its own memory, not a slice of a shared pool slab that would stay alive with it.
    const bytes = Buffer.allocUnsafeSlow(before.size);
    let length = 0;
    while (length < bytes.length) {
      const { bytesRead } = await handle.read(bytes, length, bytes.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    const after = await handle.stat();
    const unchanged = length === before.size && after.size === before.size && after.mtimeMs === before.mtimeMs;
    return { bytes: bytes.subarray(0, length), unchanged };
  } finally {
    await handle.close();
  }
}

/** What the cache checks a file by. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
}

/**
 * The file's digest, from the cache when the file has not changed since it was last read. With
 * `keepBytes`, a file of at most that many bytes that has to be read is read whole and its bytes
 * come back with the digest. `listed` is the stat taken when the file was listed, taken as the
 * file's state rather than a stat of its own: a re-run over 100,000s of files then makes no
 * system call per file (a file changed since is read, or refused by BSS on its hash, as before).
 */
export async function hashFile(
  cache: HashCache,
  path: string,
  partSize: number,
  onBytes?: (bytes: number) => void,
  keepBytes = 0,
  listed?: FileStamp,
): Promise<HashResult> {
  const before = listed ?? (await stat(path));
  if (keepBytes > 0 && before.size <= keepBytes) {
    const hit = await cache.get(path, before.size, before.mtimeMs, partSize);
    if (hit) return { digest: hit, cached: true };
    const read = await readWhole(path, before);
    const digest = digestBytes(read.bytes, partSize);
    onBytes?.(read.bytes.length);
    if (read.unchanged) await cache.set(path, before.size, before.mtimeMs, digest);
    return { digest, cached: false, bytes: read.bytes };
  }
  const hit = await cache.get(path, before.size, before.mtimeMs, partSize);
  if (hit) return { digest: hit, cached: true };
  const digest = await digestFile(path, partSize, onBytes, before.size);
  const after = await stat(path);
  if (after.size === before.size && after.mtimeMs === before.mtimeMs) {
    await cache.set(path, before.size, before.mtimeMs, digest);
  }
  return { digest, cached: false };
}

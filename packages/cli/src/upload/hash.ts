import { createHash, type Hash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readJsonFile, writePrivateFile } from '../config.ts';
import { partCount } from './plan.ts';

/** What one read of a file yields: its SHA-256 and the MD5 of each part, for a given part size. */
export interface FileDigest {
  /** 64 lowercase hex. */
  sha256: string;
  partSize: number;
  /** Base64 MD5 of each part, part 1 first (what `Content-MD5` carries). */
  partMd5: string[];
}

/**
 * One file's entry, as one string: `size:mtimeMs:partSize:sha256:md5,md5,…` (base64 MD5s hold no
 * `:` or `,`). A string per file rather than an object with an array keeps a cache of 100,000s of
 * files small in memory and on disk.
 */
type CacheEntry = string;

interface CacheFile {
  version: 2;
  entries: Record<string, CacheEntry>;
}

function packEntry(size: number, mtimeMs: number, digest: FileDigest): CacheEntry {
  return `${size}:${mtimeMs}:${digest.partSize}:${digest.sha256}:${digest.partMd5.join(',')}`;
}

function unpackEntry(entry: CacheEntry): (FileDigest & { size: number; mtimeMs: number }) | undefined {
  const [size, mtimeMs, partSize, sha256, md5s] = entry.split(':');
  if (md5s === undefined || !/^[0-9a-f]{64}$/.test(sha256 ?? '')) return undefined;
  return {
    size: Number(size),
    mtimeMs: Number(mtimeMs),
    partSize: Number(partSize),
    sha256: sha256 as string,
    partMd5: md5s.split(','),
  };
}

/** Enough for a few datasets of 100,000s of files; the oldest entries go first. */
const MAX_ENTRIES = 1_000_000;
/** How often changes reach the disk while a run goes on (and once more when it ends). */
const SAVE_EVERY_MS = 5_000;

/**
 * Digests of files already read, keyed by absolute path and valid while size, mtime and part
 * size are unchanged. Kept in `hash-cache.json` (0600) in the CLI's home: read once per run, kept
 * in memory, written back every few seconds while it changes and by `flush()`, so a run over
 * 100,000 files neither re-reads nor rewrites the file per file. A crash loses at most the last
 * few seconds of digests, which the next run computes again.
 */
export class HashCache {
  readonly #path: string;
  #loaded: Promise<Map<string, CacheEntry>> | undefined;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #writes: Promise<void> = Promise.resolve();

  constructor(home: string) {
    this.#path = join(home, 'hash-cache.json');
  }

  #entries(): Promise<Map<string, CacheEntry>> {
    this.#loaded ??= readJsonFile<CacheFile>(this.#path).then((file) => {
      const ok = file?.version === 2 && file.entries && typeof file.entries === 'object';
      return new Map(ok ? Object.entries(file.entries) : []);
    });
    return this.#loaded;
  }

  async get(path: string, size: number, mtimeMs: number, partSize: number): Promise<FileDigest | undefined> {
    const packed = (await this.#entries()).get(resolve(path));
    const entry = packed === undefined ? undefined : unpackEntry(packed);
    if (!entry || entry.size !== size || entry.mtimeMs !== mtimeMs || entry.partSize !== partSize) return undefined;
    if (entry.partMd5.length !== partCount(size, partSize)) return undefined;
    return { sha256: entry.sha256, partSize: entry.partSize, partMd5: entry.partMd5 };
  }

  async set(path: string, size: number, mtimeMs: number, digest: FileDigest): Promise<void> {
    const entries = await this.#entries();
    const key = resolve(path);
    entries.delete(key);
    entries.set(key, packEntry(size, mtimeMs, digest));
    for (const old of entries.keys()) {
      if (entries.size <= MAX_ENTRIES) break;
      entries.delete(old);
    }
    this.#dirty = true;
    if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush().catch(() => undefined), SAVE_EVERY_MS);
      this.#timer.unref();
    }
  }

  /** Writes the cache now if anything changed since the last write. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const write = async (): Promise<void> => {
      if (!this.#dirty || !this.#loaded) return;
      this.#dirty = false;
      const entries = await this.#loaded;
      await writePrivateFile(this.#path, cacheText(entries));
    };
    this.#writes = this.#writes.then(write, write);
    return this.#writes;
  }
}

/** The cache file's JSON, an entry at a time. */
function* cacheText(entries: Map<string, CacheEntry>): Generator<string> {
  yield '{"version":2,"entries":{';
  let first = true;
  let piece = '';
  for (const [key, entry] of entries) {
    piece += `${first ? '' : ','}${JSON.stringify(key)}:${JSON.stringify(entry)}`;
    first = false;
    if (piece.length >= 64 * 1024) {
      yield piece;
      piece = '';
    }
  }
  yield `${piece}}}`;
}

/** Files up to this size are read whole in one call. */
const SMALL_READ_BYTES = 1024 * 1024;

/** The SHA-256 and per-part MD5s of bytes already in memory. */
export function digestBytes(bytes: Buffer, partSize: number): FileDigest {
  const partMd5: string[] = [];
  for (let offset = 0; offset < bytes.length || partMd5.length === 0; offset += partSize) {
    partMd5.push(
      createHash('md5')
        .update(bytes.subarray(offset, offset + partSize))
        .digest('base64'),
    );
  }
  return { sha256: createHash('sha256').update(bytes).digest('hex'), partSize, partMd5 };
}

/** Reads the file once, computing the SHA-256 of the whole and the MD5 of every part. */
export async function digestFile(
  path: string,
  partSize: number,
  onBytes?: (bytes: number) => void,
  sizeHint?: number,
): Promise<FileDigest> {
  const sha = createHash('sha256');
  const partMd5: string[] = [];
  let md5: Hash = createHash('md5');
  let inPart = 0;
  let total = 0;
  // A small file in one read of its own size: a stream would take a buffer of its full read size
  // for each file, and a folder of 100,000 small files would churn through gigabytes of them.
  const chunks: AsyncIterable<Buffer> | Buffer[] =
    sizeHint !== undefined && sizeHint <= SMALL_READ_BYTES
      ? [await readFile(path)]
      : createReadStream(path, { highWaterMark: 1024 * 1024 });
  for await (const chunk of chunks) {
    sha.update(chunk);
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(chunk.length - offset, partSize - inPart);
      md5.update(chunk.subarray(offset, offset + take));
      offset += take;
      inPart += take;
      if (inPart === partSize) {
        partMd5.push(md5.digest('base64'));
        md5 = createHash('md5');
        inPart = 0;
      }
    }
    total += chunk.length;
    onBytes?.(chunk.length);
  }
  if (inPart > 0 || total === 0) partMd5.push(md5.digest('base64'));
  return { sha256: sha.digest('hex'), partSize, partMd5 };
}

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
async function readWhole(path: string, before: Stats): Promise<{ bytes: Buffer; unchanged: boolean }> {
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

/**
 * The file's digest, from the cache when the file has not changed since it was last read. With
 * `keepBytes`, a file of at most that many bytes that has to be read is read whole and its bytes
 * come back with the digest.
 */
export async function hashFile(
  cache: HashCache,
  path: string,
  partSize: number,
  onBytes?: (bytes: number) => void,
  keepBytes = 0,
): Promise<HashResult> {
  const before = await stat(path);
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

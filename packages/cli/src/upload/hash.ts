import { createHash } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { crc32 } from 'node:zlib';
import { crc32Base64 } from '@dreamlake/protocol';
import { writePrivateFile } from '../config.ts';
import { partCount } from './plan.ts';

/**
 * What one read of a file yields: its SHA-256 and the CRC-32 of each part, for a given part size.
 * CRC-32 rather than MD5: the read then runs at the speed of SHA-256 alone. A BSS that wants MD5
 * part checks (S3) gets them computed part by part as the parts go out (`partMd5`).
 */
export interface FileDigest {
  /** 64 lowercase hex. */
  sha256: string;
  partSize: number;
  /** Base64 CRC-32 of each part, part 1 first (what `x-amz-checksum-crc32` carries). */
  partCrc32: string[];
}

/**
 * One file's entry, as one string: `size:mtimeMs:partSize:sha256:crc,crc,…` (base64 CRC-32s hold
 * no `:` or `,`). A string per file rather than an object with an array keeps a cache of 100,000s
 * of files small in memory and on disk.
 */
type CacheEntry = string;

/**
 * The cache file: a head line, `{"version":4}`, then one `["path","entry"]` a line, later lines
 * replacing earlier ones of the same path. A run appends the entries it computes rather than
 * rewriting the whole file, and reads it a line at a time. (Version 3, one JSON object of
 * entries, is replaced: its files are read once again.)
 */
const CACHE_HEAD = '{"version":4}\n';

function packEntry(size: number, mtimeMs: number, digest: FileDigest): CacheEntry {
  return `${size}:${mtimeMs}:${digest.partSize}:${digest.sha256}:${digest.partCrc32.join(',')}`;
}

function unpackEntry(entry: CacheEntry): (FileDigest & { size: number; mtimeMs: number }) | undefined {
  const [size, mtimeMs, partSize, sha256, crcs] = entry.split(':');
  if (crcs === undefined || !/^[0-9a-f]{64}$/.test(sha256 ?? '')) return undefined;
  return {
    size: Number(size),
    mtimeMs: Number(mtimeMs),
    partSize: Number(partSize),
    sha256: sha256 as string,
    partCrc32: crcs.split(','),
  };
}

interface CacheContents {
  /** The latest entry of each path, the least recently written first. */
  entries: Map<string, CacheEntry>;
  /** The file should be written anew rather than appended to: none yet, another version, or mostly replaced lines. */
  rewrite: boolean;
}

/** Enough for a few datasets of 100,000s of files; the oldest entries go first. */
const MAX_ENTRIES = 1_000_000;

/** The cache file is read through one buffer of this size, again and again. */
const READ_CACHE_BYTES = 256 * 1024;

/**
 * The lines of a UTF-8 file through one buffer used again and again (a stream would leave a
 * buffer per chunk, megabytes of them for a large cache, to the garbage collector).
 */
async function* fileLines(path: string): AsyncGenerator<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafeSlow(READ_CACHE_BYTES);
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      const text = rest + (bytesRead === 0 ? decoder.end() : decoder.write(buffer.subarray(0, bytesRead)));
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        yield text.slice(start, end);
        start = end + 1;
      }
      rest = text.slice(start);
      if (bytesRead === 0) break;
    }
    if (rest !== '') yield rest;
  } finally {
    await handle.close();
  }
}

/** The cache file's entries, read a line at a time (never the whole text, nor an object of 100,000s of keys). */
async function readCache(path: string): Promise<CacheContents> {
  const entries = new Map<string, CacheEntry>();
  let lines = 0;
  try {
    for await (const line of fileLines(path)) {
      if (lines++ === 0) {
        if (`${line}\n` !== CACHE_HEAD) return { entries, rewrite: true };
        continue;
      }
      try {
        const entry: unknown = JSON.parse(line);
        if (Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'string') {
          entries.delete(entry[0]);
          entries.set(entry[0], entry[1]);
        }
      } catch {
        // A damaged line (a write cut short) costs its file one read; the others still count.
      }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return { entries, rewrite: true };
  }
  for (const old of entries.keys()) {
    if (entries.size <= MAX_ENTRIES) break;
    entries.delete(old);
  }
  // Written anew once replaced or dropped lines are as many as the live ones.
  return { entries, rewrite: lines === 0 || lines - 1 > 2 * entries.size + 1000 };
}

/** How often new entries reach the disk while a run goes on (and once more when it ends)… */
const SAVE_EVERY_MS = 5_000;
/** …or sooner, once this many wait. */
const SAVE_EVERY_ENTRIES = 10_000;

/**
 * Digests of files already read, keyed by absolute path and valid while size, mtime and part
 * size are unchanged. Kept in `hash-cache.json` (0600) in the CLI's home: read once per run; the
 * digests a run computes are appended every few seconds and by `flush()`, and not kept in memory
 * (a run asks for each file once), so a run over 100,000 files neither re-reads nor rewrites the
 * file per file, nor holds an entry for each file it hashed. A crash loses at most the last few
 * seconds of digests, which the next run computes again.
 */
export class HashCache {
  readonly #path: string;
  #loaded: Promise<CacheContents> | undefined;
  /** Lines to append. */
  #pending: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #writes: Promise<void> = Promise.resolve();

  constructor(home: string) {
    this.#path = join(home, 'hash-cache.json');
  }

  #contents(): Promise<CacheContents> {
    this.#loaded ??= readCache(this.#path).then(async (contents) => {
      // Compacted now, while every entry is in memory (an answered one is let go of).
      if (contents.rewrite && contents.entries.size > 0) {
        await writePrivateFile(this.#path, cacheText(contents.entries, [])).catch(() => undefined);
        contents.rewrite = false;
      }
      return contents;
    });
    return this.#loaded;
  }

  /**
   * The file's digest when its entry matches. Each path is answered once: its entry then leaves
   * memory (it stays in the file), so that what a re-run over 100,000s of files holds shrinks as
   * it goes; asked again in the same run, the file is read again.
   */
  async get(path: string, size: number, mtimeMs: number, partSize: number): Promise<FileDigest | undefined> {
    const { entries } = await this.#contents();
    const key = resolve(path);
    const packed = entries.get(key);
    entries.delete(key);
    const entry = packed === undefined ? undefined : unpackEntry(packed);
    if (!entry || entry.size !== size || entry.mtimeMs !== mtimeMs || entry.partSize !== partSize) return undefined;
    if (entry.partCrc32.length !== partCount(size, partSize)) return undefined;
    return { sha256: entry.sha256, partSize: entry.partSize, partCrc32: entry.partCrc32 };
  }

  async set(path: string, size: number, mtimeMs: number, digest: FileDigest): Promise<void> {
    const key = resolve(path);
    const { entries } = await this.#contents();
    entries.delete(key);
    this.#pending.push(`${JSON.stringify([key, packEntry(size, mtimeMs, digest)])}\n`);
    if (this.#pending.length >= SAVE_EVERY_ENTRIES) void this.flush().catch(() => undefined);
    else if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush().catch(() => undefined), SAVE_EVERY_MS);
      this.#timer.unref();
    }
  }

  /** Writes the entries computed since the last write. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const write = async (): Promise<void> => {
      if (this.#pending.length === 0 || !this.#loaded) return;
      const lines = this.#pending;
      this.#pending = [];
      const contents = await this.#loaded;
      if (contents.rewrite) {
        await writePrivateFile(this.#path, cacheText(contents.entries, lines));
        contents.rewrite = false;
      } else await appendLines(this.#path, lines);
    };
    this.#writes = this.#writes.then(write, write);
    return this.#writes;
  }
}

/** New lines at the end of the cache file (its head first, when it is gone). */
async function appendLines(path: string, lines: string[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const handle = await open(path, 'a', 0o600);
  try {
    const { size } = await handle.stat();
    await handle.writeFile(`${size === 0 ? CACHE_HEAD : ''}${lines.join('')}`);
  } finally {
    await handle.close();
  }
}

/** The whole cache file: its head, the entries kept, then the new lines, a piece at a time. */
function* cacheText(entries: Map<string, CacheEntry>, lines: string[]): Generator<string> {
  let piece = CACHE_HEAD;
  for (const [key, entry] of entries) {
    piece += `${JSON.stringify([key, entry])}\n`;
    if (piece.length >= 64 * 1024) {
      yield piece;
      piece = '';
    }
  }
  yield piece;
  yield* lines;
}

/** Files up to this size are read whole in one call. */
const SMALL_READ_BYTES = 1024 * 1024;
/** The buffer a large file is read through, again and again (no buffer per chunk to collect). */
const READ_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * SHA-256 and per-part CRC-32 over bytes that arrive in order, in chunks of any size (a file read,
 * a download written).
 */
export class DigestBuilder {
  readonly #sha = createHash('sha256');
  readonly #partSize: number;
  readonly #crcs: string[] = [];
  #crc = 0;
  #inPart = 0;
  #total = 0;

  constructor(partSize: number) {
    this.#partSize = partSize;
  }

  update(chunk: Uint8Array): void {
    this.#sha.update(chunk);
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(chunk.length - offset, this.#partSize - this.#inPart);
      this.#crc = crc32(chunk.subarray(offset, offset + take), this.#crc);
      offset += take;
      this.#inPart += take;
      if (this.#inPart === this.#partSize) {
        this.#crcs.push(crc32Base64(this.#crc));
        this.#crc = 0;
        this.#inPart = 0;
      }
    }
    this.#total += chunk.length;
  }

  /** Bytes fed so far. */
  get bytes(): number {
    return this.#total;
  }

  digest(): FileDigest {
    if (this.#inPart > 0 || this.#total === 0) this.#crcs.push(crc32Base64(this.#crc));
    return { sha256: this.#sha.digest('hex'), partSize: this.#partSize, partCrc32: this.#crcs };
  }
}

/** The SHA-256 and per-part CRC-32s of bytes already in memory. */
export function digestBytes(bytes: Buffer, partSize: number): FileDigest {
  const builder = new DigestBuilder(partSize);
  builder.update(bytes);
  return builder.digest();
}

/** Reads the file once, computing the SHA-256 of the whole and the CRC-32 of every part. */
export async function digestFile(
  path: string,
  partSize: number,
  onBytes?: (bytes: number) => void,
  sizeHint?: number,
): Promise<FileDigest> {
  const builder = new DigestBuilder(partSize);
  // A small file in one read of its own size: a shared buffer of the large-file size would be
  // mostly empty, and one per file would churn through gigabytes over 100,000 files.
  if (sizeHint !== undefined && sizeHint <= SMALL_READ_BYTES) {
    const bytes = await readFile(path);
    builder.update(bytes);
    onBytes?.(bytes.length);
    return builder.digest();
  }
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      builder.update(buffer.subarray(0, bytesRead));
      onBytes?.(bytesRead);
    }
  } finally {
    await handle.close();
  }
  return builder.digest();
}

/** The base64 MD5 of one byte range of a file (a part's Content-MD5, for a BSS that wants it). */
export async function partMd5(path: string, range: { start: number; end: number }): Promise<string> {
  const md5 = createHash('md5');
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(Math.min(READ_BUFFER_BYTES, Math.max(1, range.end - range.start)));
    for (let at = range.start; at < range.end; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, range.end - at), at);
      if (bytesRead === 0) throw new Error(`${path} ended before byte ${range.end}: it changed while being sent`);
      md5.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return md5.digest('base64');
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

import { mkdir, open } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { writePrivateFile } from '../config.ts';
import type { FileDigest } from './digest.ts';
import { partCount } from './plan.ts';

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

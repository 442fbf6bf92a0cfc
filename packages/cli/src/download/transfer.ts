import { type FileHandle, lstat, rename, rm, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { BandwidthLimiter } from '../bwlimit.ts';
import { ApiError, CliError, NetworkError } from '../errors.ts';
import type { Budget } from '../transfer/budget.ts';
import { DigestBuilder } from '../transfer/digest.ts';
import type { HashCache } from '../transfer/hash-cache.ts';
import { choosePartSize } from '../transfer/plan.ts';
import { eachLimited } from '../transfer/pool.ts';
import { type RetryOptions, withRetry } from '../transfer/retry.ts';
import { drainBody } from './body.ts';
import { ChunkStateWriter, openPartial, partialPaths, readChunkState, removeState } from './partial.ts';
import { rangedGet } from './ranged-get.ts';

/**
 * The SHA-256 of a file as it is written, with its upload part CRC-32s (the shape the hash cache
 * keeps): a downloaded file is then known to the next upload or download without a read.
 */
function fileDigest(size: number): DigestBuilder {
  return new DigestBuilder(choosePartSize(size));
}

/** One file to fetch: where from, where to, and what it must hash to. */
export interface FileJob {
  /** The name in the space's index (for messages and events). */
  name: string;
  target: string;
  url: string;
  hash: string;
  size: number;
}

export interface TransferDeps {
  dispatcher: Dispatcher;
  /** Shared by every request of the run: bodies and bytes in flight. */
  budget: Budget;
  retry: RetryOptions;
  /** Files larger than this are fetched as ranges of this size, several at once. */
  chunkSize: number;
  /** Ranges of one file in flight at once. */
  rangesPerFile: number;
  hashCache?: HashCache;
  signal?: AbortSignal;
  /** `--bwlimit`: one for the run, every body it receives throttled through it. */
  limiter?: BandwidthLimiter | undefined;
  /** A fresh signed URL for a file whose URL was refused (expired, for instance). */
  renewUrl?: (name: string) => Promise<string>;
}

export interface TransferEvents {
  /** Bytes received for a file (negative when a failed range is fetched again). */
  bytes?(name: string, bytes: number): void;
  /** Bytes an earlier run left that this one keeps. */
  resumed?(name: string, bytes: number): void;
}

export interface Transferred {
  /** Bytes kept from an interrupted earlier run. */
  resumedBytes: number;
}

/** The bytes received do not hash to what the index says: nothing was put in place. */
export class HashMismatchError extends CliError {
  constructor(name: string, expected: string, actual: string, size: number) {
    super(
      `SHA-256 mismatch for ${name}: expected ${expected}, received ${actual} (${size} bytes); the partial file was deleted`,
    );
  }
}

/** The service sent the whole blob to a ranged request: fetch it as one stream instead. */
class RangesIgnored extends Error {}

/**
 * Bytes read back per read when hashing a written range. Every file fetched in ranges holds one
 * such buffer while it downloads (up to 16 files at once): 256 KiB hashes as fast from the page
 * cache as 1 MiB did, for a quarter of the memory.
 */
const READ_BUFFER = 256 * 1024;

/**
 * Fetches one file into `<target>.<hash>.partial`, checks its SHA-256 over the whole file and only
 * then renames it into place. An interruption leaves the partial file (and, for a file fetched in
 * ranges, the list of ranges written) for the next run to continue with `Range` requests.
 */
export async function transferFile(
  deps: TransferDeps,
  job: FileJob,
  events: TransferEvents = {},
): Promise<Transferred> {
  const paths = partialPaths(job.target, job.hash);
  const url = { current: job.url, renewed: false };
  let result: { resumedBytes: number; builder: DigestBuilder };
  if (job.size > deps.chunkSize) {
    try {
      result = await chunked(deps, job, events, url, paths);
    } catch (error) {
      if (!(error instanceof RangesIgnored)) throw error;
      await removeState(paths.state);
      await rm(paths.data, { force: true });
      result = await streamed(deps, job, events, url, paths.data);
    }
  } else {
    result = await streamed(deps, job, events, url, paths.data);
  }
  const digest = result.builder.digest();
  const { sha256 } = digest;
  if (sha256 !== job.hash || result.builder.bytes !== job.size) {
    await rm(paths.data, { force: true });
    if (job.size > deps.chunkSize) await removeState(paths.state);
    throw new HashMismatchError(job.name, job.hash, sha256, result.builder.bytes);
  }
  await rename(paths.data, job.target);
  // Only a file fetched in ranges has a state file.
  if (job.size > deps.chunkSize) await removeState(paths.state);
  if (deps.hashCache) {
    const info = await stat(job.target);
    await deps.hashCache.set(job.target, info.size, info.mtimeMs, digest);
  }
  return { resumedBytes: result.resumedBytes };
}

/** Runs one request attempt with retries; a refused URL is renewed once when the run can. */
async function attempt<T>(
  deps: TransferDeps,
  job: FileJob,
  url: { current: string; renewed: boolean },
  task: () => Promise<T>,
): Promise<T> {
  return withRetry(async () => {
    deps.signal?.throwIfAborted();
    try {
      return await task();
    } catch (error) {
      if (error instanceof ApiError && error.status === 403 && deps.renewUrl && !url.renewed) {
        url.renewed = true;
        url.current = await deps.renewUrl(job.name);
        return await task();
      }
      throw error;
    }
  }, deps.retry);
}

/** An answer's body as the run's limiter lets it through (as it is without one). */
function throttled(deps: TransferDeps, body: Readable): Readable {
  return deps.limiter ? deps.limiter.stream(body, deps.signal) : body;
}

/** A file as one stream, continuing after what the partial file already holds. */
async function streamed(
  deps: TransferDeps,
  job: FileJob,
  events: TransferEvents,
  url: { current: string; renewed: boolean },
  data: string,
): Promise<{ resumedBytes: number; builder: DigestBuilder }> {
  let builder = fileDigest(job.size);
  const existing = (await lstat(data).catch(() => null))?.size ?? 0;
  const handle = await openPartial(data, existing > 0 && existing <= job.size);
  try {
    let offset = existing <= job.size ? existing : 0;
    if (offset > 0) await hashRange(handle, builder, 0, offset);
    const resumedBytes = offset;
    if (resumedBytes > 0) events.resumed?.(job.name, resumedBytes);
    if (offset < job.size || job.size === 0) {
      // Bytes hashed so far: ahead of `offset` when a write failed part-way, and then hashed again.
      let hashed = offset;
      await attempt(deps, job, url, () =>
        deps.budget.run(job.size - offset, async () => {
          if (hashed !== offset) {
            builder = fileDigest(job.size);
            await hashRange(handle, builder, 0, offset);
            hashed = offset;
          }
          const answer = await rangedGet(deps.dispatcher, url.current, { start: offset }, deps.signal);
          if (answer.start !== offset) {
            events.bytes?.(job.name, -offset);
            offset = 0;
            hashed = 0;
            builder = fileDigest(job.size);
            await handle.truncate(0);
          }
          await drainBody(
            throttled(deps, answer.body),
            answer.url,
            (chunk) => {
              if (hashed + chunk.length > job.size)
                throw new CliError(`${job.name}: received more than the ${job.size} bytes the index gives`);
              builder.update(chunk);
              hashed += chunk.length;
              events.bytes?.(job.name, chunk.length);
            },
            async (chunks, bytes) => {
              await handle.writev(chunks, offset);
              offset += bytes;
            },
            deps.signal,
          );
        }),
      );
    }
    return { resumedBytes, builder };
  } finally {
    await handle.close();
  }
}

/** Feeds bytes [start, end) of the file to the digest, in order. */
async function hashRange(
  handle: FileHandle,
  builder: DigestBuilder,
  start: number,
  end: number,
  buffer = Buffer.allocUnsafe(Math.min(READ_BUFFER, Math.max(1, end - start))),
): Promise<void> {
  for (let position = start; position < end; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
    if (bytesRead === 0) throw new CliError('the partial file is shorter than expected');
    builder.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

/**
 * A large file as ranges of `chunkSize`, up to `rangesPerFile` at once, each written at its place
 * in the partial file and recorded once written. The SHA-256 is taken in file order as the ranges
 * before it complete, reading back what was written (from the page cache).
 */
async function chunked(
  deps: TransferDeps,
  job: FileJob,
  events: TransferEvents,
  url: { current: string; renewed: boolean },
  paths: { data: string; state: string },
): Promise<{ resumedBytes: number; builder: DigestBuilder }> {
  const { chunkSize } = deps;
  const count = Math.ceil(job.size / chunkSize);
  const bounds = (i: number) => ({ start: i * chunkSize, end: Math.min(job.size, (i + 1) * chunkSize) });
  const saved = await readChunkState(paths.state, job.hash, job.size, chunkSize);
  const dataSize = (await lstat(paths.data).catch(() => null))?.size;
  const done = saved && dataSize === job.size ? saved : new Set<number>();
  const handle = await openPartial(paths.data, done.size > 0);
  const writer = new ChunkStateWriter(paths.state, { version: 1, hash: job.hash, size: job.size, chunkSize });
  try {
    if (done.size === 0) await handle.truncate(job.size);
    await writer.save(done);
    const resumedBytes = [...done].reduce((sum, i) => sum + bounds(i).end - bounds(i).start, 0);
    if (resumedBytes > 0) events.resumed?.(job.name, resumedBytes);

    const builder = fileDigest(job.size);
    let cursor = 0;
    let hashing: Promise<void> = Promise.resolve();
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER);
    const advance = (): void => {
      hashing = hashing.then(async () => {
        while (cursor < count && done.has(cursor)) {
          const { start, end } = bounds(cursor);
          await hashRange(handle, builder, start, end, readBuffer);
          cursor += 1;
        }
      });
      // Awaited below; until then a failure must not count as unhandled.
      hashing.catch(() => undefined);
    };
    advance();

    // After the first answer, ranges go straight to where BSS redirected (a presigned S3 GET).
    let direct: string | undefined;
    const fetchChunk = async (i: number): Promise<void> => {
      const { start, end } = bounds(i);
      let taken = 0;
      let written = 0;
      try {
        const answer = await rangedGet(deps.dispatcher, direct ?? url.current, { start, end }, deps.signal);
        if (!answer.ranged) {
          await answer.body.dump();
          throw new RangesIgnored();
        }
        await drainBody(
          throttled(deps, answer.body),
          answer.url,
          (chunk) => {
            if (taken + chunk.length > end - start)
              throw new CliError(`${job.name}: a range answer ran past the bytes asked for`);
            taken += chunk.length;
            events.bytes?.(job.name, chunk.length);
          },
          async (chunks, bytes) => {
            await handle.writev(chunks, start + written);
            written += bytes;
          },
          deps.signal,
        );
        if (written !== end - start) throw new NetworkError(answer.url, new Error('the answer ended early'));
        direct ??= answer.url;
      } catch (error) {
        if (taken > 0) events.bytes?.(job.name, -taken);
        // A redirect target that stops answering (an expired presigned GET) is asked for again.
        if (direct !== undefined && error instanceof ApiError) direct = undefined;
        throw error;
      }
      done.add(i);
      await writer.save(done);
      advance();
    };
    const pending = Array.from({ length: count }, (_, i) => i).filter((i) => !done.has(i));
    try {
      await eachLimited(pending, deps.rangesPerFile, (i) =>
        attempt(deps, job, url, () => deps.budget.run(bounds(i).end - bounds(i).start, () => fetchChunk(i))),
      );
    } finally {
      await hashing.catch(() => undefined);
    }
    advance();
    await hashing;
    if (cursor !== count) throw new CliError(`${job.name}: not every range was written`);
    return { resumedBytes, builder };
  } finally {
    await handle.close();
  }
}

import { lstat, rename, rm, stat } from 'node:fs/promises';
import { CliError } from '../errors.ts';
import { drainBody } from './body.ts';
import {
  attempt,
  type Fetched,
  type FileJob,
  type JobUrl,
  type TransferDeps,
  type TransferEvents,
  throttled,
} from './job.ts';
import { openPartial, partialPaths, removeState } from './partial.ts';
import { RangedDownload, RangesIgnored } from './ranged-download.ts';
import { rangedGet } from './ranged-get.ts';
import { fileDigest, hashRange } from './read-back.ts';

export type { FileJob, TransferDeps, TransferEvents } from './job.ts';

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
  const url: JobUrl = { current: job.url, renewed: false };
  let result: Fetched;
  if (job.size > deps.chunkSize) {
    try {
      result = await new RangedDownload({ deps, job, events, url, paths }).run();
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

/** A file as one stream, continuing after what the partial file already holds. */
async function streamed(
  deps: TransferDeps,
  job: FileJob,
  events: TransferEvents,
  url: JobUrl,
  data: string,
): Promise<Fetched> {
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

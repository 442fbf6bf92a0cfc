import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { BandwidthLimiter } from '../bwlimit.ts';
import { ApiError } from '../errors.ts';
import type { Budget } from '../transfer/budget.ts';
import type { DigestBuilder } from '../transfer/digest.ts';
import type { HashCache } from '../transfer/hash-cache.ts';
import { type RetryOptions, withRetry } from '../transfer/retry.ts';

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

/** A file's signed URL, renewed at most once in its transfer. */
export interface JobUrl {
  current: string;
  renewed: boolean;
}

/** What fetching a file's bytes into its partial file gave. */
export interface Fetched {
  /** Bytes kept from an interrupted earlier run. */
  resumedBytes: number;
  /** The digest of every byte of the partial file, in order. */
  builder: DigestBuilder;
}

/** Runs one request attempt with retries; a refused URL is renewed once when the run can. */
export async function attempt<T>(deps: TransferDeps, job: FileJob, url: JobUrl, task: () => Promise<T>): Promise<T> {
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
export function throttled(deps: TransferDeps, body: Readable): Readable {
  return deps.limiter ? deps.limiter.stream(body, deps.signal) : body;
}

/**
 * What the upload modules share: their dependencies, the events they report, the files they take
 * and the results they give. In a file of its own so that none of them imports another for types.
 */
import type { Dispatcher } from 'undici';
import type { ServerApi } from '../api.ts';
import type { BandwidthLimiter } from '../bwlimit.ts';
import type { Budget } from '../transfer/budget.ts';
import type { FileDigest } from '../transfer/digest.ts';
import type { HashCache } from '../transfer/hash-cache.ts';
import type { RetryOptions } from '../transfer/retry.ts';
import type { AssetType } from '../types.ts';

/** What the uploader tells the progress display and the log. */
export interface UploadEvents {
  hashed(name: string, bytes: number): void;
  /** Bytes put on the wire for a file; negative when a failed part's bytes are taken back. */
  sent(name: string, bytes: number): void;
  /** Bytes of parts BSS already held from an earlier run. */
  resumed(name: string, bytes: number): void;
  phase(name: string, phase: 'hashing' | 'uploading' | 'finishing'): void;
  note(message: string): void;
  /**
   * Resolves once what was written so far has gone out (at once if nothing waits). A run waits
   * for it before it takes more files, so that when the reader of `--json` lines is slower than
   * a re-run over 100,000s of stored files, the lines wait in the reader's pipe, not in memory.
   */
  drained?(): Promise<void>;
}

export interface UploadDeps {
  api: ServerApi;
  dispatcher: Dispatcher;
  home: string;
  /** A BSS URL for the legacy fallback, when configured. */
  bss: string | undefined;
  /** Parts in flight at once for this file. */
  concurrency: number;
  /** Shared by everything a run sends at once, so that files and parts together stay within bounds. */
  budget?: Budget;
  /** `--bwlimit`: one for the run, every body it sends throttled through it. */
  limiter?: BandwidthLimiter | undefined;
  /** One cache for the whole run (files hashed at once must not overwrite each other's entries). */
  hashCache?: HashCache;
  retry: RetryOptions;
  events: UploadEvents;
}

export interface LocalFile {
  path: string;
  /** The name in the space's index (a relative path). */
  name: string;
  size: number;
  /** The modification time of the stat that listed the file (its hash cache entry is checked against it). */
  mtimeMs?: number;
  /** Its digest when the caller already has it (a sync's plan hashed it): not hashed again. */
  digest?: FileDigest;
}

export interface Target {
  namespace: string;
  space: string;
}

/** One line of `upload --json`. */
export interface FileResult {
  hash: string;
  size: number;
  type: AssetType;
  contentType: string;
  namespace: string;
  space: string;
  name: string;
  partsTotal: number;
  partsSent: number;
  skipped: boolean;
  /** True when the file went through the unsigned legacy BSS flow (and is not in the index). */
  legacy?: boolean;
}

/** A file once hashed: what its upload needs and the answer it will give. */
export interface Prepared {
  file: LocalFile;
  type: AssetType;
  contentType: string;
  digest: FileDigest;
  base: FileResult;
  /** The file's bytes, read once for both its hash and its upload (small files, when asked for). */
  bytes?: Buffer;
}

/** The S3 section of the BSS configuration (from `S3_*` and `AWS_*`), as the backend needs it. */
export interface S3StorageConfig {
  /** `S3_ENDPOINT`; absent for AWS S3 (the SDK derives it from the region). */
  endpoint?: string | undefined;
  region: string;
  bucket: string;
  /** `S3_FORCE_PATH_STYLE`: `http://host/bucket/key` instead of `http://bucket.host/key`. */
  forcePathStyle: boolean;
  /** Static credentials; when absent the SDK's default chain applies (instance role, profile…). */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /**
   * `S3_MAX_ATTEMPTS`: tries of one S3 request, the first included, before BSS gives up on it
   * (SlowDown, 5xx, a reset or a timeout are retried with backoff; anything else is not).
   */
  maxAttempts?: number | undefined;
  /**
   * `S3_TIMEOUT_SECONDS`, in ms: a request to S3 that sends or receives nothing for this long is
   * dropped and retried (a stalled S3 never holds a request for good). Connecting gets at most 10 s.
   */
  timeoutMs?: number | undefined;
}

export const DEFAULT_S3_MAX_ATTEMPTS = 5;
export const DEFAULT_S3_TIMEOUT_MS = 120_000;

/** Tuning knobs; the defaults suit production, tests lower them to reach rare paths cheaply. */
export interface S3StorageOptions {
  /** Objects above this size are published by multipart UploadPartCopy (S3 caps CopyObject at 5 GiB). */
  singleCopyLimit?: number;
  /** Part size for a multipart copy. */
  copyPartSize?: number;
  /** Parallel requests while publishing a large object. */
  copyConcurrency?: number;
  /** The verify read fetches the staged object in ranges of this size... */
  verifyChunkSize?: number;
  /** ...this many at once, and hashes them in order. */
  verifyConcurrency?: number;
  /**
   * A staged single-shot object up to this size is read into memory, hashed, and written to its
   * blob key from those very bytes; a larger one is first copied to a key no URL was signed for.
   */
  memoryPublishLimit?: number;
  /**
   * The most bytes one process holds at once for those and for the bodies below; past it, a staged
   * object is published from the private copy, and a body PUT to BSS is refused for now (503).
   */
  memoryPublishBudget?: number;
  /**
   * A single-shot body up to this size (never above `memoryPublishLimit`) may be PUT to BSS itself,
   * which hashes it as it arrives and writes it to its blob key in one PutObject; a larger one goes
   * to a staging key by a presigned URL. Such bodies are held out of `memoryPublishBudget` too: the
   * default 1 MiB lets 64 of them arrive at once, slow clients included, where each new small file
   * gains the most (one request instead of three, one to S3 instead of four). 0 stages every body.
   */
  memoryReceiveLimit?: number;
}

export type ResolvedS3StorageOptions = Required<S3StorageOptions>;

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export function resolveOptions(options: S3StorageOptions = {}): ResolvedS3StorageOptions {
  const memoryPublishLimit = options.memoryPublishLimit ?? 16 * MiB;
  return Object.freeze({
    singleCopyLimit: options.singleCopyLimit ?? 5 * GiB,
    copyPartSize: options.copyPartSize ?? 1 * GiB,
    copyConcurrency: options.copyConcurrency ?? 4,
    verifyChunkSize: options.verifyChunkSize ?? 8 * MiB,
    verifyConcurrency: options.verifyConcurrency ?? 4,
    memoryPublishLimit,
    memoryPublishBudget: options.memoryPublishBudget ?? 64 * MiB,
    memoryReceiveLimit: Math.min(options.memoryReceiveLimit ?? 1 * MiB, memoryPublishLimit),
  });
}

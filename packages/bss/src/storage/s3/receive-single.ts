import { createHash } from 'node:crypto';
import { type Readable, Writable } from 'node:stream';
import { DreamLakeError } from '@dreamlake/presign';
import { copyBody } from '../body.ts';
import type { SingleUpload } from '../single-upload.ts';
import type { BlobInfo } from '../storage.ts';
import { type PublishContext, putVerifiedBytes } from './publish-staged.ts';

/** Seconds a client is asked to wait when the bodies in memory fill the budget. */
const BUSY_RETRY_SECONDS = 1;
/** How long a body waits for room in the budget before it is refused. */
const BUDGET_WAIT_MS = 2_000;

/** 503 `unavailable` with Retry-After: this process holds as many bodies in memory as it may. */
export class ReceiveBudgetSpent extends DreamLakeError {
  readonly headers = { 'retry-after': String(BUSY_RETRY_SECONDS) };
  constructor() {
    super('unavailable', 'BSS holds as many single-shot bodies in memory as it may; send this one again shortly', {
      retryAfter: BUSY_RETRY_SECONDS,
    });
  }
}

function tooLarge(size: number): DreamLakeError {
  return new DreamLakeError(
    'too_large',
    `the body is longer than the ${size} bytes this URL was signed for; nothing was kept`,
    {
      size,
    },
  );
}

/**
 * Reads a body of exactly `upload.size` bytes into `bytes` and answers the SHA-256 of what was
 * kept there: each chunk is copied in first and the copy is hashed, so the bytes hashed are the
 * bytes later written. Refused as soon as it passes the size (`too_large`), when it ends short
 * or is cut off (`invalid_part`); a refusal pauses the body rather than destroying the socket, so
 * the client still gets its answer.
 */
async function readHashed(body: Readable, bytes: Buffer): Promise<string> {
  const size = bytes.length;
  const sha256 = createHash('sha256');
  let received = 0;
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  await copyBody(body, sink, (chunk) => {
    if (received + chunk.length > size) throw tooLarge(size);
    chunk.copy(bytes, received);
    sha256.update(bytes.subarray(received, received + chunk.length));
    received += chunk.length;
  });
  if (received < size) {
    throw new DreamLakeError('invalid_part', `the body has ${received} bytes; this URL was signed for ${size}`, {
      size,
    });
  }
  return sha256.digest('hex');
}

/**
 * A small single-shot body received by BSS on S3: held in memory (out of the same budget as the
 * staged objects published from memory; a body that finds no room within BUDGET_WAIT_MS is
 * refused with a retryable 503 rather than queued longer), hashed as it arrives, and written to its blob key only once
 * its size and SHA-256 are the signed ones, in one PutObject carrying that SHA-256. A refused or
 * cut-off body costs no request to S3 and leaves nothing. Whether the blob is already stored is
 * not asked first: a file's first upload is the common case, and writing the same bytes again
 * leaves the same blob.
 */
export async function receiveSingle(ctx: PublishContext, upload: SingleUpload, body: Readable): Promise<BlobInfo> {
  const { owner, project, hash, size, contentType } = upload;
  if (!(await ctx.buffers.take(size, BUDGET_WAIT_MS))) throw new ReceiveBudgetSpent();
  try {
    const bytes = Buffer.allocUnsafe(size);
    const actual = await readHashed(body, bytes);
    if (actual !== hash) {
      throw new DreamLakeError('hash_mismatch', 'the body does not match the signed SHA-256; nothing was kept', {
        expected: hash,
        actual,
      });
    }
    await putVerifiedBytes(ctx.client, ctx.bucket, { owner, project, hash: actual }, bytes, contentType);
    return { owner, project, hash: actual, size, contentType };
  } finally {
    ctx.buffers.release(size);
  }
}

import { signReceipt } from '@dreamlake/presign';
import type { BlobReceipt, StoredBlob } from '@dreamlake/protocol';
import { blobKey } from '../storage/keys.ts';
import type { BlobInfo } from '../storage/storage.ts';
import type { BssContext } from './context.ts';

/** BSS's signed word that it holds this verified blob, valid for the presign lifetime. */
export function receiptFor(ctx: BssContext, blob: BlobInfo): BlobReceipt {
  const { owner, project, hash, size, contentType } = blob;
  return signReceipt(
    ctx.config.secrets,
    { owner, project, hash, size, contentType },
    ctx.clock(),
    ctx.config.presignTtlSeconds,
  );
}

/**
 * The answer of a complete or a single-shot upload. Uploads started with a legacy 16-hex hash
 * (`withReceipt` false) get none: their clients predate receipts.
 */
export function blobAnswer(ctx: BssContext, blob: BlobInfo, withReceipt = true): StoredBlob {
  const answer = { success: true, key: blobKey(blob), hash: blob.hash, size: blob.size, contentType: blob.contentType };
  return withReceipt ? { ...answer, receipt: receiptFor(ctx, blob) } : answer;
}

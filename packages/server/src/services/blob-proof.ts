import { DreamLakeError, verifyReceipt } from '@dreamlake/presign';
import type { BlobReceipt } from '@dreamlake/protocol';
import { z } from 'zod';
import type { BlobStat } from '../bss-client.ts';
import type { ServerContext } from '../context.ts';
import type { BlobRef } from '../signing.ts';
import { tooLarge } from './upload-init.ts';

/** BSS's signed word on a verified blob, as a client passes it on when it registers the file. */
export const receiptSchema = z.object({
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  contentType: z.string().min(1).max(255),
  exp: z.number().int().nonnegative(),
  sig: z.string().min(1).max(256),
});

/** A verified blob's size and media type, and when it was known to be in BSS (ms). */
export interface ProvenBlob extends BlobStat {
  provenAt: number;
}

/**
 * The verified blob's size and media type: from the receipt when one is given (checked with the
 * presign secrets, no call to BSS; a bad or expired one throws bad_signature or
 * expired_signature), otherwise from BSS (`stat`); null when BSS holds no such blob. `provenAt`
 * is when BSS issued the receipt (it lives PRESIGN_TTL_SECONDS), or when the `stat` was sent.
 */
export async function provenBlob(
  ctx: ServerContext,
  blob: BlobRef,
  receipt: BlobReceipt | undefined,
): Promise<ProvenBlob | null> {
  const asked = ctx.clock();
  if (receipt) {
    const verified = verifyReceipt(ctx.config.presignSecrets, blob, receipt, Math.floor(asked / 1000));
    return { ...verified, provenAt: Math.min(asked, (receipt.exp - ctx.config.presignTtlSeconds) * 1000) };
  }
  const stat = await ctx.bss.stat(blob);
  return stat && { ...stat, provenAt: asked };
}

/** The media type indexed: the verified blob's, unless that is the generic one and the client named another. */
export function indexedContentType(proven: BlobStat, given: string | undefined): string {
  return proven.contentType === 'application/octet-stream' && given ? given : proven.contentType;
}

/**
 * Refuses to index a proven blob larger than MAX_UPLOAD_BYTES (413 `too_large`), or of another
 * size than the live grant of that blob stated (409 `conflict`, `details.size` and
 * `details.grantedSize`): the bytes a grant held against the quota are the bytes registered.
 */
export function checkProvenSize(ctx: ServerContext, proven: BlobStat, grantedSize: number | undefined): void {
  if (proven.size > ctx.config.maxUploadBytes) throw tooLarge(ctx);
  if (grantedSize !== undefined && proven.size !== grantedSize) {
    throw new DreamLakeError('conflict', `the blob is ${proven.size} bytes; its grant stated ${grantedSize}`, {
      size: proven.size,
      grantedSize,
    });
  }
}

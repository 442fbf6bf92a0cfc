/**
 * A blob receipt (the protocol's `BlobReceipt`): BSS's signed word that it holds a verified blob
 * of `size` bytes and `contentType` for owner, project and hash. BSS hands it out when an upload
 * completes; the client passes it on when it registers the file, and the server checks it with
 * the shared presign secrets instead of asking BSS again. Same canonical string as every signed
 * URL, action `blob-receipt`.
 */
import type { BlobReceipt } from '@dreamlake/protocol';
import { DreamLakeError } from './errors.ts';
import { presign } from './sign.ts';
import { verify } from './verify.ts';

/** The blob a receipt speaks for. */
export interface ReceiptScope {
  owner: string;
  project: string;
  hash: string;
  size: number;
  contentType: string;
}

export const RECEIPT_ACTION = 'blob-receipt';
const RECEIPT_PARAMS = ['owner', 'project', 'hash', 'size', 'contentType'] as const;

function params(scope: ReceiptScope): Record<string, string> {
  return {
    owner: scope.owner,
    project: scope.project,
    hash: scope.hash,
    size: String(scope.size),
    contentType: scope.contentType,
  };
}

/** Signs a receipt for a verified blob; `now` in Unix seconds. */
export function signReceipt(
  secrets: readonly string[],
  scope: ReceiptScope,
  now: number,
  ttlSeconds: number,
): BlobReceipt {
  const { exp, query } = presign({ action: RECEIPT_ACTION, params: params(scope), secrets, now, ttlSeconds });
  return { size: scope.size, contentType: scope.contentType, exp, sig: query.sig as string };
}

/**
 * Checks a receipt against the blob it is said to describe; answers the verified size and content
 * type, or throws `bad_signature`, `expired_signature` or `malformed_signature`.
 */
export function verifyReceipt(
  secrets: readonly string[],
  blob: { owner: string; project: string; hash: string },
  receipt: BlobReceipt,
  now: number,
): { size: number; contentType: string } {
  if (!Number.isSafeInteger(receipt.size) || receipt.size < 0)
    throw new DreamLakeError('malformed_signature', 'receipt size is not a byte count');
  if (typeof receipt.contentType !== 'string' || typeof receipt.sig !== 'string')
    throw new DreamLakeError('malformed_signature', 'receipt is incomplete');
  const scope = { ...blob, size: receipt.size, contentType: receipt.contentType };
  const query = { ...params(scope), exp: String(receipt.exp), sig: receipt.sig };
  const verified = verify({ action: RECEIPT_ACTION, signed: RECEIPT_PARAMS, query, secrets, now });
  if (verified.params.hash !== blob.hash) throw new DreamLakeError('bad_signature', 'receipt names another blob');
  return { size: receipt.size, contentType: receipt.contentType };
}

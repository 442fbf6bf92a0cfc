import { createHash } from 'node:crypto';
import { DreamLakeError } from '@dreamlake/presign';
import type { BlobRef, Storage } from '../storage/storage.ts';

export interface VerifyResult {
  ok: boolean;
  hash: string;
  actualHash: string;
  size: number;
}

/** Re-reads a stored blob and reports whether its bytes still hash to its name. */
export async function verifyBlob(storage: Storage, ref: BlobRef): Promise<VerifyResult> {
  if (!(await storage.stat(ref))) throw new DreamLakeError('not_found', 'no such blob');
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of await storage.read(ref)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const actualHash = hash.digest('hex');
  return { ok: actualHash === ref.hash, hash: ref.hash, actualHash, size };
}

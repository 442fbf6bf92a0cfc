import { DreamLakeError } from '@dreamlake/presign';
import { mapLimit } from '@dreamlake/protocol';
import { nowIso, type ServerContext } from '../context.ts';
import { byUtf8 } from '../db/commit-writes.ts';
import { type KnownBlob, knownBlobs } from '../db/files.ts';
import { reservedSizes } from '../db/upload-reservations.ts';
import { checkProvenSize, indexedContentType, type ProvenBlob, provenBlob } from './blob-proof.ts';
import type { registerFileBody } from './file-index.ts';

/** BSS `stat` calls made at once, for the puts that come without a receipt. */
const STAT_CONCURRENCY = 8;

/** A name to point at a blob, as a client asks for it (`POST …/files`, a put of a commit). */
export type PutRequest = ReturnType<typeof registerFileBody.parse>;

/** A put whose blob is proven: what the index stores, and when the blob was known to be in BSS (ms). */
export interface ProvenPut {
  name: string;
  hash: string;
  type: string;
  size: number;
  contentType: string;
  provenAt: number;
}

/**
 * Each put's proven blob, or the error it answers. A put with a receipt is checked with the
 * presign secrets; one whose hash the space already holds (named by head or an older snapshot)
 * was verified when first registered and costs no call to BSS (proven as of the read of the
 * index: a delete since refuses the write, services/quota.ts `checkStillStored`); any other is
 * confirmed with BSS `stat`, once per hash, a few at a time. A bad or expired receipt, a blob BSS
 * does not hold, one over MAX_UPLOAD_BYTES or of another size than its live grant is that put's error.
 */
export async function provePuts(
  ctx: ServerContext,
  where: { namespace: string; space: string },
  spaceId: string | undefined,
  puts: readonly PutRequest[],
): Promise<Array<ProvenPut | DreamLakeError>> {
  const withoutReceipt = puts.filter((p) => !p.receipt).map((p) => p.hash);
  const readAt = ctx.clock();
  const known =
    spaceId && withoutReceipt.length > 0
      ? await knownBlobs(ctx.db, spaceId, withoutReceipt)
      : new Map<string, KnownBlob>();
  const proofs = await proveAll(ctx, where, puts, known, readAt);
  const granted = await reservedSizes(
    ctx.db,
    where,
    puts.filter((p) => p.receipt || !known.has(p.hash)).map((p) => p.hash),
    nowIso(ctx),
  );
  return puts.map((put, i) => {
    const proof = proofs[i]!;
    if (proof instanceof DreamLakeError) return proof;
    const refused = put.receipt || !known.has(put.hash) ? sizeError(ctx, proof, granted.get(put.hash)) : null;
    if (refused) return refused;
    return {
      name: put.name,
      hash: put.hash,
      type: put.type,
      size: proof.size,
      contentType: indexedContentType(proof, put.contentType),
      provenAt: proof.provenAt,
    };
  });
}

/**
 * The proven puts of a request that stands or falls whole (a commit, a batch of a draft): the
 * first refusal is thrown for all, with `details.names` naming every put it refuses (404
 * `not_found` when BSS holds no blob of some puts, whatever else is refused).
 */
export function allProven(puts: readonly PutRequest[], proofs: ReadonlyArray<ProvenPut | DreamLakeError>): ProvenPut[] {
  const refused = puts.flatMap((put, i) => {
    const proof = proofs[i];
    return proof instanceof DreamLakeError ? [{ name: put.name, error: proof }] : [];
  });
  if (refused.length === 0) return proofs as ProvenPut[];
  const missing = refused.filter((r) => r.error.code === 'not_found');
  if (missing.length > 0) {
    const names = missing.map((r) => r.name).sort(byUtf8);
    throw new DreamLakeError(
      'not_found',
      `blob storage holds no verified blob for ${names.length === 1 ? `"${names[0]}"` : `${names.length} names`}: nothing was written`,
      { names: names.slice(0, 100), count: names.length },
    );
  }
  const first = refused[0]!.error;
  const names = refused
    .filter((r) => r.error.code === first.code)
    .map((r) => r.name)
    .sort(byUtf8);
  throw new DreamLakeError(
    first.code,
    `${names.length === 1 ? `"${names[0]}"` : `${names.length} names`}: ${first.message}`,
    {
      ...first.details,
      names: names.slice(0, 100),
      count: names.length,
    },
  );
}

/** The size error of a blob proven by a receipt or BSS (one the index already holds was checked when first registered). */
function sizeError(ctx: ServerContext, proven: ProvenBlob, grantedSize: number | undefined): DreamLakeError | null {
  try {
    checkProvenSize(ctx, proven, grantedSize);
    return null;
  } catch (error) {
    if (error instanceof DreamLakeError) return error;
    throw error;
  }
}

/**
 * Each put's verified blob, or the error it answers; BSS is asked once per hash. A blob the index
 * held when read at `readAt` is proven as of then.
 */
async function proveAll(
  ctx: ServerContext,
  where: { namespace: string; space: string },
  puts: readonly PutRequest[],
  known: ReadonlyMap<string, KnownBlob>,
  readAt: number,
): Promise<Array<ProvenBlob | DreamLakeError>> {
  const stats = new Map<string, Promise<ProvenBlob | null>>();
  return mapLimit(puts, STAT_CONCURRENCY, async (input) => {
    const blob = { owner: where.namespace, project: where.space, hash: input.hash };
    try {
      let proven: ProvenBlob | null;
      const held = known.get(input.hash);
      if (input.receipt) proven = await provenBlob(ctx, blob, input.receipt);
      else if (held) proven = { size: held.size, contentType: held.contentType, provenAt: readAt };
      else {
        let asked = stats.get(input.hash);
        if (!asked) {
          asked = provenBlob(ctx, blob, undefined);
          stats.set(input.hash, asked);
        }
        proven = await asked;
      }
      return (
        proven ??
        new DreamLakeError(
          'not_found',
          `blob storage holds no verified blob ${input.hash} in ${where.namespace}/${where.space}`,
        )
      );
    } catch (error) {
      if (error instanceof DreamLakeError) return error;
      throw error;
    }
  });
}

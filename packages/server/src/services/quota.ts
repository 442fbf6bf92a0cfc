import { DreamLakeError, TooLargeError } from '@dreamlake/presign';
import type { ServerContext } from '../context.ts';
import { namesPerHash, namespaceUsage, type PutFile, writeFiles } from '../db/files.ts';
import { lockNamespace, type Namespace } from '../db/namespaces.ts';
import type { DB } from '../db/open.ts';
import { ensureSpace, type Space } from '../db/spaces.ts';
import { releaseReservations, reserve, reservedBytes, reservedSizes } from '../db/upload-reservations.ts';
import { addCandidates, beingDeleted, DELETE_LEASE_MS } from '../gc/candidates.ts';
import { CLOCK_SKEW_MS, deletedSince, deletesKeptMs } from '../gc/deletes.ts';

/** A grant or a registration asked for while the collection deletes that very blob from BSS: asking again shortly works. */
export function beingCollected(hash: string): DreamLakeError {
  return new DreamLakeError('storage_unavailable', `blob ${hash} is being collected from storage; ask again shortly`);
}

/**
 * Refuses when the namespace's bytes (`stored`: each indexed blob once; `granted`: blobs granted
 * and not registered yet) plus `incoming` would pass its quota. A full namespace takes no new
 * file, not even an empty one: with zero incoming bytes it refuses once the namespace is full. A
 * negative `incoming` (a name pointed at a smaller blob) refuses only when the namespace would
 * still be over its quota afterwards.
 */
function checkTotal(quota: number, namespace: Namespace, stored: number, granted: number, incoming: number): void {
  const used = stored + granted;
  const over = incoming === 0 ? used >= quota : used + incoming > quota;
  if (over) {
    throw new TooLargeError(`namespace "${namespace.name}" is over its quota`, {
      quotaBytes: quota,
      usedBytes: stored,
      grantedBytes: granted,
    });
  }
}

/**
 * Until when a grant made at `nowMs` holds its bytes: its URLs' expiry plus BLOB_GC_GRACE_SECONDS,
 * the moment the collection may delete a blob it uploaded and nobody registered (until then the
 * blob may be completed, and registered with its receipt or after a `stat`).
 */
export function grantHoldsUntil(ctx: ServerContext, nowMs: number): string {
  return new Date(nowMs + (ctx.config.presignTtlSeconds + ctx.config.blobGcGraceSeconds) * 1000).toISOString();
}

/** A blob asked for at another size than a live grant of it: a blob's size is fixed by its hash. */
function sizeConflict(hash: string, size: number, grantedSize: number): DreamLakeError {
  return new DreamLakeError(
    'conflict',
    `blob ${hash} is granted at ${grantedSize} bytes, not ${size}: a blob's size is fixed by its hash`,
    { size, grantedSize },
  );
}

/** A blob stated at two sizes in one request. */
function statedTwice(hash: string, sizes: readonly number[]): DreamLakeError {
  return new DreamLakeError('conflict', `blob ${hash} is stated at ${sizes.join(' and ')} bytes in one request`, {
    sizes,
  });
}

/**
 * Records the grants of blobs of one space under the namespace's lock, so that grants asked for
 * at once cannot pass the quota together: each blob's stated size counts against the quota until
 * it is registered or may be collected. A blob granted again at the same size counts once; one
 * asked for at another size than its live grant, or at two sizes in one request, is refused (409
 * `conflict`), so what a grant holds never shrinks while its URLs live and no URL is signed for
 * more bytes than are held. Throws 413 `too_large` over the quota. Answers the blobs left out, each
 * with its error: those refused for their size, and those the collection is deleting from BSS at
 * this moment (503 `storage_unavailable`: no URLs are handed out for a blob about to go).
 */
export async function reserveGrants(
  ctx: ServerContext,
  namespace: Namespace,
  space: string,
  requests: readonly { hash: string; size: number }[],
): Promise<Map<string, DreamLakeError>> {
  const nowMs = ctx.clock();
  const now = new Date(nowMs).toISOString();
  const where = { namespace: namespace.name, space };
  const refused = new Map<string, DreamLakeError>();
  const sizes = new Map<string, number>();
  for (const { hash, size } of requests) {
    const stated = sizes.get(hash);
    if (stated !== undefined && stated !== size) refused.set(hash, statedTwice(hash, [stated, size]));
    sizes.set(hash, Math.max(size, stated ?? 0));
  }
  for (const hash of refused.keys()) sizes.delete(hash);
  return ctx.db.transaction().execute(async (trx) => {
    await lockNamespace(trx, namespace.id);
    const deleting = await beingDeleted(trx, where, [...sizes.keys()], new Date(nowMs - DELETE_LEASE_MS).toISOString());
    for (const hash of deleting) {
      sizes.delete(hash);
      refused.set(hash, beingCollected(hash));
    }
    const held = sizes.size > 0 ? await reservedSizes(trx, where, [...sizes.keys()], now) : new Map<string, number>();
    for (const [hash, grantedSize] of held) {
      const size = sizes.get(hash) ?? grantedSize;
      if (size === grantedSize) continue;
      sizes.delete(hash);
      refused.set(hash, sizeConflict(hash, size, grantedSize));
    }
    const quota = ctx.config.namespaceQuotaBytes;
    const fresh = [...sizes].filter(([hash]) => !held.has(hash));
    if (quota !== null && fresh.length > 0) {
      const incoming = fresh.reduce((sum, [, size]) => sum + size, 0);
      const stored = await namespaceUsage(trx, namespace.id);
      checkTotal(quota, namespace, stored, await reservedBytes(trx, namespace.name, now), incoming);
    }
    const until = grantHoldsUntil(ctx, nowMs);
    await reserve(
      trx,
      [...sizes].map(([hash, size]) => ({ ...where, hash, size, expiresAt: until })),
    );
    return refused;
  });
}

/** A name about to point at a blob, and the blob it pointed at before, if any. */
export interface IndexChange {
  hash: string;
  size: number;
  previous?: { hash: string; size: number } | undefined;
}

/**
 * How many bytes the namespace's stored blobs grow by when these names of one space point at
 * their blobs: a blob the space already holds under another name adds nothing, and a blob that
 * loses its last name frees its size.
 */
export async function storedBytesDelta(db: DB, spaceId: string, changes: readonly IndexChange[]): Promise<number> {
  const incoming = new Map(changes.map((c) => [c.hash, c.size]));
  const leaving = new Map<string, { size: number; names: number }>();
  for (const { previous } of changes) {
    if (!previous) continue;
    const entry = leaving.get(previous.hash) ?? { size: previous.size, names: 0 };
    entry.names += 1;
    leaving.set(previous.hash, entry);
  }
  const names = await namesPerHash(db, spaceId, [...incoming.keys(), ...leaving.keys()]);
  let delta = 0;
  for (const [hash, size] of incoming) if (!names.has(hash)) delta += size;
  for (const [hash, { size, names: renamed }] of leaving) {
    if (incoming.has(hash)) continue;
    if ((names.get(hash) ?? 0) - renamed <= 0) delta -= size;
  }
  return delta;
}

/** A name to point at a proven blob, when the blob was known to be in BSS (ms), and what the name pointed at before. */
export interface IndexWrite {
  file: Omit<PutFile, 'spaceId'>;
  provenAt: number;
  previous?: { hash: string; size: number } | undefined;
}

/** A registration whose blob the collection deleted after it was proven: uploading it again works. */
function collectedSinceProven(hash: string): DreamLakeError {
  return new DreamLakeError(
    'storage_unavailable',
    `blob ${hash} was collected from storage after it was proven; ask again, and upload it again if storage no longer holds it`,
  );
}

/**
 * Refuses (503 `storage_unavailable`) a write whose blob has a delete on its way to BSS, or was
 * deleted after, or shortly before (CLOCK_SKEW_MS), its proof was taken, or whose proof is older
 * than the collection remembers its deletes. Runs under the namespace's lock, which the
 * collection's mark and record of each delete take too.
 */
async function checkStillStored(
  ctx: ServerContext,
  trx: DB,
  where: { namespace: string; space: string },
  writes: readonly IndexWrite[],
): Promise<void> {
  const nowMs = ctx.clock();
  const hashes = writes.map((w) => w.file.hash);
  const [deleting] = await beingDeleted(trx, where, hashes, new Date(nowMs - DELETE_LEASE_MS).toISOString());
  if (deleting) throw beingCollected(deleting);
  const oldest = Math.min(...writes.map((w) => w.provenAt)) - CLOCK_SKEW_MS;
  const stale = writes.find((w) => w.provenAt - CLOCK_SKEW_MS < nowMs - deletesKeptMs(ctx.config));
  if (stale) throw collectedSinceProven(stale.file.hash);
  const deleted = await deletedSince(trx, where, hashes, new Date(oldest - 1).toISOString());
  for (const { file, provenAt } of writes) {
    const at = deleted.get(file.hash);
    if (at !== undefined && Date.parse(at) >= provenAt - CLOCK_SKEW_MS) throw collectedSinceProven(file.hash);
  }
}

/**
 * Points names of one space at their blobs under the namespace's lock (the space is created when
 * missing): the quota is checked against the stored bytes and the other grants' bytes (the grants
 * of the blobs registered here stop counting, their bytes now stored), the names are written, and
 * each blob that lost its last name becomes a candidate for the collection. Throws 413 `too_large`
 * over the quota, and 503 `storage_unavailable` for a blob whose delete is on its way to BSS or
 * was over after the blob was proven (the collection marks and records each delete under the same
 * lock), writing nothing.
 */
export async function writeIndex(
  ctx: ServerContext,
  namespace: Namespace,
  spaceName: string,
  createdBy: string,
  writes: readonly IndexWrite[],
): Promise<Space> {
  const now = new Date(ctx.clock()).toISOString();
  const where = { namespace: namespace.name, space: spaceName };
  const hashes = [...new Set(writes.map((w) => w.file.hash))];
  return ctx.db.transaction().execute(async (trx) => {
    await lockNamespace(trx, namespace.id);
    await checkStillStored(ctx, trx, where, writes);
    const space = await ensureSpace(trx, { namespaceId: namespace.id, name: spaceName, createdBy, now });
    const quota = ctx.config.namespaceQuotaBytes;
    if (quota !== null) {
      const changes = writes.map((w) => ({ hash: w.file.hash, size: w.file.size, previous: w.previous }));
      const delta = await storedBytesDelta(trx, space.id, changes);
      const settled = [...(await reservedSizes(trx, where, hashes, now)).values()].reduce((a, b) => a + b, 0);
      const granted = (await reservedBytes(trx, namespace.name, now)) - settled;
      checkTotal(quota, namespace, await namespaceUsage(trx, namespace.id), granted, delta);
    }
    await writeFiles(
      trx,
      writes.map((w) => ({ ...w.file, spaceId: space.id })),
    );
    await releaseReservations(trx, where, hashes);
    const left = new Set(writes.flatMap((w) => (w.previous ? [w.previous.hash] : [])));
    for (const hash of hashes) left.delete(hash);
    if (left.size > 0) {
      const named = await namesPerHash(trx, space.id, [...left]);
      await addCandidates(
        trx,
        where,
        [...left].filter((hash) => !named.has(hash)),
        now,
      );
    }
    return space;
  });
}

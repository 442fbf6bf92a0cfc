import { DreamLakeError } from '@dreamlake/presign';
import type { ServerContext } from '../context.ts';
import { draftHeldHashes } from '../db/drafts.ts';
import { heldHashes } from '../db/files.ts';
import { namespaceUsage } from '../db/namespace-usage.ts';
import { lockNamespace, type Namespace } from '../db/namespaces.ts';
import type { DB } from '../db/open.ts';
import { reserve, reservedBytes, reservedSizes } from '../db/upload-reservations.ts';
import { beingDeleted, DELETE_LEASE_MS } from '../gc/candidates.ts';
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
  if (!fits(quota, stored + granted, incoming)) throw overQuota(quota, namespace, stored, granted);
}

function fits(quota: number, used: number, incoming: number): boolean {
  return incoming === 0 ? used < quota : used + incoming <= quota;
}

function overQuota(quota: number, namespace: Namespace, stored: number, granted: number): DreamLakeError {
  return new DreamLakeError('too_large', `namespace "${namespace.name}" is over its quota`, {
    quotaBytes: quota,
    usedBytes: stored,
    grantedBytes: granted,
  });
}

/**
 * Of the blobs asked for, in the order asked, the ones that do not fit once those before them
 * are granted: each is refused alone (413 `too_large`), so one file over the quota does not hold
 * back the smaller files of its folder.
 */
function overflow(
  quota: number,
  namespace: Namespace,
  stored: number,
  granted: number,
  fresh: ReadonlyArray<readonly [string, number]>,
): Map<string, DreamLakeError> {
  const refused = new Map<string, DreamLakeError>();
  let held = granted;
  for (const [hash, size] of fresh) {
    if (fits(quota, stored + held, size)) held += size;
    else refused.set(hash, overQuota(quota, namespace, stored, held));
  }
  return refused;
}

/**
 * Until when a grant made at `nowMs` holds its bytes: its URLs' expiry plus BLOB_GC_GRACE_SECONDS,
 * the moment the collection may delete a blob it uploaded and nobody registered (until then the
 * blob may be completed, and registered with its receipt or after a `stat`).
 */
export function grantHoldsUntil(ctx: Pick<ServerContext, 'config'>, nowMs: number): string {
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
 * more bytes than are held. Answers the blobs left out, each with its error: those refused for
 * their size, those that would pass the quota (413 `too_large`, taken in the order asked: the
 * ones before still fit), and those the collection is deleting from BSS at this moment (503
 * `storage_unavailable`: no URLs are handed out for a blob about to go).
 */
export async function reserveGrants(
  ctx: ServerContext,
  namespace: Namespace,
  space: string,
  requests: readonly { hash: string; size: number }[],
): Promise<Map<string, DreamLakeError>> {
  const nowMs = ctx.clock();
  return ctx.db.transaction().execute((trx) => reserveLocked(ctx, trx, namespace, space, requests, nowMs));
}

/**
 * reserveGrants inside the caller's transaction `trx` (the namespace's lock is taken here), as of
 * `nowMs`: the grants' bytes are held until `grantHoldsUntil(ctx, nowMs)`.
 */
export async function reserveLocked(
  ctx: Pick<ServerContext, 'config'>,
  trx: DB,
  namespace: Namespace,
  space: string,
  requests: readonly { hash: string; size: number }[],
  nowMs: number,
): Promise<Map<string, DreamLakeError>> {
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
    const stored = await namespaceUsage(trx, namespace.id);
    const over = overflow(quota, namespace, stored, await reservedBytes(trx, namespace.name, now), fresh);
    for (const [hash, error] of over) {
      sizes.delete(hash);
      refused.set(hash, error);
    }
  }
  const until = grantHoldsUntil(ctx, nowMs);
  await reserve(
    trx,
    [...sizes].map(([hash, size]) => ({ ...where, hash, size, expiresAt: until })),
  );
  return refused;
}

/**
 * Refuses (413 `too_large`) a commit, or a draft's batch, whose new blobs would pass the
 * namespace's quota: a blob the space already holds (named by head, an older snapshot or a draft)
 * adds nothing, and nothing is freed while a snapshot or a draft still names a blob. The grants of
 * the blobs written stop counting, their bytes now stored. Runs under the namespace's lock.
 */
export async function checkCommitQuota(
  ctx: ServerContext,
  trx: DB,
  namespace: Namespace,
  space: { id: string | undefined; name: string },
  puts: readonly { hash: string; size: number }[],
): Promise<void> {
  const quota = ctx.config.namespaceQuotaBytes;
  if (quota === null || puts.length === 0) return;
  const now = new Date(ctx.clock()).toISOString();
  const where = { namespace: namespace.name, space: space.name };
  const sizes = new Map(puts.map((p) => [p.hash, p.size]));
  const held = await draftHeldHashes(trx, namespace.id, space.name, [...sizes.keys()]);
  if (space.id !== undefined) for (const hash of await heldHashes(trx, space.id, [...sizes.keys()])) held.add(hash);
  let incoming = 0;
  for (const [hash, size] of sizes) if (!held.has(hash)) incoming += size;
  const settled = [...(await reservedSizes(trx, where, [...sizes.keys()], now)).values()].reduce((a, b) => a + b, 0);
  const granted = (await reservedBytes(trx, namespace.name, now)) - settled;
  checkTotal(quota, namespace, await namespaceUsage(trx, namespace.id), granted, incoming);
}

/** A blob written into a space, and when it was known to be in BSS (ms). */
export interface ProvenWrite {
  hash: string;
  provenAt: number;
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
export async function checkStillStored(
  ctx: ServerContext,
  trx: DB,
  where: { namespace: string; space: string },
  writes: readonly ProvenWrite[],
): Promise<void> {
  if (writes.length === 0) return;
  const nowMs = ctx.clock();
  const hashes = writes.map((w) => w.hash);
  const [deleting] = await beingDeleted(trx, where, hashes, new Date(nowMs - DELETE_LEASE_MS).toISOString());
  if (deleting) throw beingCollected(deleting);
  const oldest = Math.min(...writes.map((w) => w.provenAt)) - CLOCK_SKEW_MS;
  const stale = writes.find((w) => w.provenAt - CLOCK_SKEW_MS < nowMs - deletesKeptMs(ctx.config));
  if (stale) throw collectedSinceProven(stale.hash);
  const deleted = await deletedSince(trx, where, hashes, new Date(oldest - 1).toISOString());
  for (const { hash, provenAt } of writes) {
    const at = deleted.get(hash);
    if (at !== undefined && Date.parse(at) >= provenAt - CLOCK_SKEW_MS) throw collectedSinceProven(hash);
  }
}

import type { BssClient } from '../bss-client.ts';
import { type ServerConfig, SHARE_USE_LOG_DAYS_DEFAULT } from '../config.ts';
import { blobIndexed } from '../db/files.ts';
import { lockNamespaceNamed } from '../db/namespaces.ts';
import type { DB } from '../db/open.ts';
import { pruneShareUses } from '../db/shares.ts';
import { type GrantCursor, grantedAfter, grantsBetween } from '../db/upload-grants.ts';
import { isReserved, pruneReservations } from '../db/upload-reservations.ts';
import {
  type BlobKey,
  type Candidate,
  candidatesAfter,
  DELETE_LEASE_MS,
  dropCandidate,
  markDeleting,
  unmarkDeleting,
} from './candidates.ts';
import { readCursor, saveCursor } from './cursor.ts';
import { deletesKeptMs, pruneDeletes, recordDeleted } from './deletes.ts';
import { removeExpiredDrafts } from './drafts.ts';
import { dropOldSnapshots } from './retention.ts';

const DAY_MS = 24 * 3600_000;

/** What the collection needs: the database, a way to ask BSS, the settings and the clock (ms). */
export interface BlobGcDeps {
  db: DB;
  bss: Pick<BssClient, 'deleteBlob'>;
  config: Pick<ServerConfig, 'blobGcGraceSeconds' | 'presignTtlSeconds'> &
    Partial<Pick<ServerConfig, 'snapshotRetentionDays' | 'shareUseLogDays'>>;
  clock: () => number;
}

export interface BlobGcResult {
  /** Blobs BSS deleted. */
  deleted: number;
  /** False when BSS kept a granted blob as too recent: the walk stopped before it and resumes there next time. */
  finished: boolean;
}

const WALK = 'grants';
const PAGE = 500;
const FULL_HASH = /^[0-9a-f]{64}$/;

/** One run's moments: now, the latest grant time that no longer holds a blob back, and when a delete mark goes stale. */
interface RunTimes {
  now: string;
  until: string;
  staleBefore: string;
}

/**
 * One collection. First the share links' use rows older than SHARE_USE_LOG_DAYS are forgotten
 * (the links keep their counts and last use), the drafts that expired are removed and, with
 * SNAPSHOT_RETENTION_DAYS, the snapshots older than that (except head) dropped (gc/drafts.ts, gc/retention.ts): the blobs
 * they named become candidates. Then the blobs that lost their last name (candidates), then a
 * walk over the grants (in the order they were made) whose URLs expired more than
 * BLOB_GC_GRACE_SECONDS ago. A blob is deleted only when no entry of head, of a kept older
 * snapshot or of a draft names it, and no grant of it was made within the
 * URL lifetime plus the grace period, so no URL or receipt that could still name it is alive
 * (receipts live one URL lifetime past the upload they vouch for); BSS itself keeps a blob
 * published within its own grace period. Each delete is marked in the database, under the
 * namespace's lock, before it is sent: a grant of that blob asked for meanwhile is refused rather
 * than answered with URLs to a blob about to go; once the delete is over, when it was is kept a
 * while, and a registration proven before then is refused. How far the walk got is kept in the
 * database, so each grant is looked at once; a blob granted again later is looked at again in
 * that grant's turn.
 */
export async function collectBlobs(deps: BlobGcDeps): Promise<BlobGcResult> {
  const { db, config } = deps;
  const nowMs = deps.clock();
  const times: RunTimes = {
    now: new Date(nowMs).toISOString(),
    // A grant's URLs live PRESIGN_TTL_SECONDS; the receipts of what they uploaded as long again.
    until: new Date(nowMs - (config.presignTtlSeconds + config.blobGcGraceSeconds) * 1000).toISOString(),
    staleBefore: new Date(nowMs - DELETE_LEASE_MS).toISOString(),
  };
  await pruneReservations(db, times.now);
  await pruneDeletes(db, new Date(nowMs - deletesKeptMs(config)).toISOString());
  await removeExpiredDrafts(db, times.now);
  await pruneShareUses(db, nowMs - (config.shareUseLogDays ?? SHARE_USE_LOG_DAYS_DEFAULT) * DAY_MS);
  if (config.snapshotRetentionDays) await dropOldSnapshots(db, config.snapshotRetentionDays, nowMs);
  let deleted = await collectCandidates(deps, times);

  const start = (await readCursor(db, WALK)) ?? { createdAt: '', id: '' };
  let cursor: GrantCursor = start;
  try {
    for (;;) {
      const page = await grantsBetween(db, cursor, times.until, PAGE);
      const looked = new Set<string>();
      for (const grant of page) {
        const key = `${grant.namespace}\n${grant.space}\n${grant.hash}`;
        if (!looked.has(key)) {
          looked.add(key);
          const outcome = FULL_HASH.test(grant.hash) ? await collectOne(deps, grant, times) : 'kept';
          if (outcome === 'recent') return { deleted, finished: false };
          if (outcome === 'deleted') deleted += 1;
        }
        cursor = { createdAt: grant.createdAt, id: grant.id };
      }
      if (page.length < PAGE) return { deleted, finished: true };
    }
  } finally {
    if (cursor !== start) await saveCursor(db, WALK, cursor, times.now);
  }
}

/**
 * The blobs that lost their last name. One still granted or named again is dropped (a grant's own
 * turn in the walk comes later); one BSS keeps as too recent stays for the next run.
 */
async function collectCandidates(deps: BlobGcDeps, times: RunTimes): Promise<number> {
  let deleted = 0;
  let after: Candidate | null = null;
  for (;;) {
    const page = await candidatesAfter(deps.db, after, times.staleBefore, PAGE);
    for (const candidate of page) {
      if ((await collectOne(deps, candidate, times)) === 'deleted') deleted += 1;
      after = candidate;
    }
    if (page.length < PAGE) return deleted;
  }
}

async function collectOne(
  deps: BlobGcDeps,
  blob: BlobKey,
  times: RunTimes,
): Promise<'deleted' | 'absent' | 'recent' | 'kept'> {
  const key = { namespace: blob.namespace, space: blob.space, hash: blob.hash };
  if (!(await claim(deps.db, key, times))) return 'kept';
  let outcome: 'deleted' | 'absent' | 'recent';
  try {
    outcome = await deps.bss.deleteBlob({ owner: key.namespace, project: key.space, hash: key.hash });
  } catch (error) {
    // The delete may have reached BSS all the same: remembered as done, the blob stays a candidate.
    await settle(deps, key, 'unknown');
    throw error;
  }
  await settle(deps, key, outcome);
  return outcome;
}

/**
 * Ends a delete's mark under the namespace's lock. A delete that may have removed the blob is
 * remembered with the time it was over (in the same transaction as the mark goes), so a name
 * proven before it is refused (services/quota.ts `writeIndex`); one BSS kept as too recent, or
 * that may not have reached it, leaves the blob a candidate.
 */
async function settle(deps: BlobGcDeps, blob: BlobKey, outcome: 'deleted' | 'absent' | 'recent' | 'unknown') {
  const over = new Date(deps.clock()).toISOString();
  await deps.db.transaction().execute(async (trx) => {
    await lockNamespaceNamed(trx, blob.namespace);
    if (outcome !== 'recent') await recordDeleted(trx, blob, over);
    if (outcome === 'deleted' || outcome === 'absent') await dropCandidate(trx, blob);
    else await unmarkDeleting(trx, blob);
  });
}

/**
 * Under the namespace's lock (grants of it take the same lock): marks the blob as being deleted
 * when nothing keeps it, and answers whether it did. A blob something keeps is no candidate any more.
 */
async function claim(db: DB, blob: BlobKey, times: RunTimes): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await lockNamespaceNamed(trx, blob.namespace);
    const kept =
      (await isReserved(trx, blob, times.now)) ||
      (await grantedAfter(trx, blob, times.until)) ||
      (await blobIndexed(trx, blob));
    if (kept) await dropCandidate(trx, blob);
    else await markDeleting(trx, blob, times.now);
    return !kept;
  });
}

import { DreamLakeError } from '@dreamlake/presign';
import type { ServerContext } from '../context.ts';
import type { Namespace } from '../db/namespaces.ts';
import { type GrantAuditRow, insertUploadGrants } from '../db/upload-grants.ts';
import { reserveLocked } from './quota.ts';

/** Grants of one space written in one transaction at most; more wait for the next. */
const MAX_GROUP = 1000;

/**
 * How long a group may wait for the transaction before it (a stuck database) before its grants
 * fail as `unavailable` without being written: as long as a query waits for a pool connection.
 */
export const GROUP_WAIT_LIMIT_MS = 5000;

type Deps = Pick<ServerContext, 'db' | 'config' | 'clock'> & {
  /** GROUP_WAIT_LIMIT_MS unless given (tests). */
  groupWaitLimitMs?: number;
};

/**
 * Reserves the blobs' bytes (services/quota.ts `reserveLocked`, under the namespace's lock) and
 * writes the audit rows `audit` makes of the outcome in the same transaction, as of one moment:
 * a grant is on record exactly when its bytes are held, and both are committed before any of its
 * URLs is handed out. Answers the refusals and the moment (ms), which the URLs are signed at:
 * the audit row's time is never before its URLs' (the collection counts their lifetime from it).
 */
export async function reserveAndRecord(
  deps: Deps,
  namespace: Namespace,
  space: string,
  requests: readonly { hash: string; size: number }[],
  audit: (refused: ReadonlyMap<string, DreamLakeError>, createdAt: string) => GrantAuditRow[],
): Promise<{ refused: Map<string, DreamLakeError>; nowMs: number; rows: GrantAuditRow[] }> {
  const nowMs = deps.clock();
  const createdAt = new Date(nowMs).toISOString();
  return deps.db.transaction().execute(async (trx) => {
    const refused = await reserveLocked(deps, trx, namespace, space, requests, nowMs);
    const rows = audit(refused, createdAt);
    await insertUploadGrants(trx, rows);
    return { refused, nowMs, rows };
  });
}

/** Grants one blob, sharing a transaction with the grants of the same space asked for meanwhile. */
export interface GrantQueue {
  /**
   * Reserves the blob's bytes and writes `audit`'s row, both committed before this resolves;
   * answers the moment to sign the URLs at, or rejects with the refusal (or the write's failure).
   */
  grant(
    namespace: Namespace,
    space: string,
    blob: { hash: string; size: number },
    audit: (createdAt: string) => GrantAuditRow,
  ): Promise<number>;
  /** reserveAndRecord for many blobs at once (`POST /uploads/batch`), in a transaction of their own. */
  together: (
    namespace: Namespace,
    space: string,
    requests: readonly { hash: string; size: number }[],
    audit: (refused: ReadonlyMap<string, DreamLakeError>, createdAt: string) => GrantAuditRow[],
  ) => ReturnType<typeof reserveAndRecord>;
}

interface Waiting {
  hash: string;
  size: number;
  audit: (createdAt: string) => GrantAuditRow;
  resolve: (nowMs: number) => void;
  reject: (error: unknown) => void;
}

interface Group {
  namespace: Namespace;
  space: string;
  waiting: Waiting[];
  /** The size each hash is asked at in this group. */
  sizes: Map<string, number>;
  /** Set when the group waited past the limit: its grants were failed and are never written. */
  expired: boolean;
}

/**
 * Group commit for single grants (`POST /uploads/init`): the grants of one space asked for while
 * its previous transaction runs, or in the same turn of the event loop, go in one transaction
 * (reservations and audit rows, see reserveAndRecord) instead of two writes each. Every grant
 * still waits for its own rows to be committed; a failed transaction fails every grant it
 * carried, and a refusal (quota, a size conflict, a blob being collected) refuses only its own.
 * A hash asked for at another size than a grant already waiting in the group starts a new group,
 * so it is refused as a conflict with that grant, as if asked for after it.
 */
export function createGrantQueue(deps: Deps, written: (rows: readonly GrantAuditRow[]) => void): GrantQueue {
  /** The group still taking grants, by namespace id and space. */
  const open = new Map<string, Group>();
  /** The last transaction started or queued, by namespace id and space. */
  const tails = new Map<string, Promise<void>>();

  async function flush(group: Group): Promise<void> {
    let outcome: Awaited<ReturnType<typeof reserveAndRecord>>;
    try {
      outcome = await reserveAndRecord(deps, group.namespace, group.space, group.waiting, (refused, createdAt) =>
        group.waiting.filter((w) => !refused.has(w.hash)).map((w) => w.audit(createdAt)),
      );
    } catch (error) {
      for (const w of group.waiting) w.reject(error);
      return;
    }
    for (const w of group.waiting) {
      const error = outcome.refused.get(w.hash);
      if (error) w.reject(error);
      else w.resolve(outcome.nowMs);
    }
    try {
      written(outcome.rows);
    } catch {
      // Counting the grants (metrics) must never hold back or fail grants already committed.
    }
  }

  function start(key: string, group: Group): void {
    const previous = tails.get(key) ?? Promise.resolve();
    // A transaction that never ends (a database that stopped answering) must not hold the grants
    // queued behind it for ever, nor write them once their clients are long gone.
    const timer = setTimeout(() => expire(key, group), deps.groupWaitLimitMs ?? GROUP_WAIT_LIMIT_MS);
    timer.unref();
    const done = previous
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(async () => {
        clearTimeout(timer);
        if (open.get(key) === group) open.delete(key);
        if (group.expired) return;
        try {
          await flush(group);
        } catch (error) {
          for (const w of group.waiting) w.reject(error);
        }
      });
    tails.set(key, done);
    void done.finally(() => {
      if (tails.get(key) === done) tails.delete(key);
    });
  }

  function expire(key: string, group: Group): void {
    group.expired = true;
    if (open.get(key) === group) open.delete(key);
    const error = new DreamLakeError('unavailable', 'the database did not take the grant in time; try again');
    for (const w of group.waiting) w.reject(error);
  }

  return {
    async together(namespace, space, requests, audit) {
      const outcome = await reserveAndRecord(deps, namespace, space, requests, audit);
      written(outcome.rows);
      return outcome;
    },
    grant(namespace, space, blob, audit) {
      const key = `${namespace.id}\n${space}`;
      let group = open.get(key);
      const stated = group?.sizes.get(blob.hash);
      if (!group || group.waiting.length >= MAX_GROUP || (stated !== undefined && stated !== blob.size)) {
        group = { namespace, space, waiting: [], sizes: new Map(), expired: false };
        open.set(key, group);
        start(key, group);
      }
      group.sizes.set(blob.hash, blob.size);
      const waiting = group.waiting;
      return new Promise<number>((resolve, reject) => {
        waiting.push({ hash: blob.hash, size: blob.size, audit, resolve, reject });
      });
    },
  };
}

import { DreamLakeError } from '@dreamlake/presign';
import type { Selectable } from 'kysely';
import { nowIso, type ServerContext } from '../context.ts';
import {
  byUtf8,
  changedSince,
  type EntryPut,
  type HeadEntry,
  headEntriesByName,
  headEntriesUnder,
  retireEntries,
  writeEntries,
} from '../db/commit-writes.ts';
import { trackUsage } from '../db/namespace-usage.ts';
import { lockNamespace, type Namespace } from '../db/namespaces.ts';
import type { DB } from '../db/open.ts';
import type { SnapshotsTable } from '../db/schema.ts';
import { findSnapshot, headVersion, insertSnapshot, versionDropped } from '../db/snapshots.ts';
import { ensureSpace, type Space } from '../db/spaces.ts';
import { releaseReservations } from '../db/upload-reservations.ts';
import { checkCommitQuota, checkStillStored } from './quota.ts';

/** Names a refusal lists at most. */
export const NAMES_LISTED = 100;

/** A put of a commit: the entry, and when its blob was proven (absent: the blob is held already, or a draft holds it). */
export type CommitPut = EntryPut & { provenAt?: number | undefined };

/** The changes of one commit, proven, as they apply to the head they land on. */
export interface CommitInput {
  namespace: Namespace;
  spaceName: string;
  /** The committer's user id. */
  author: string;
  /** The version the changes were made against; undefined or null: whatever head is. */
  parent?: number | null | undefined;
  message: string;
  puts: readonly CommitPut[];
  deletes: readonly string[];
  deletePrefixes: readonly string[];
  /** False when every blob put is held by the space already (a restore): no quota check. */
  checkQuota?: boolean;
  /**
   * True when the commit can make no blob live that was not (a draft's commit: the draft held
   * every blob it puts), so the namespace's stored bytes are not read again.
   */
  usageUnchanged?: boolean;
}

export interface CommitOutcome {
  space: Space;
  /** Whether a new version was made. */
  created: boolean;
  /** The new version, or head when nothing changed (undefined while the space has none). */
  snapshot: (Selectable<SnapshotsTable> & { author_name?: string }) | undefined;
}

function listed(names: readonly string[]): string[] {
  return [...names].sort(byUtf8).slice(0, NAMES_LISTED);
}

const sameEntry = (a: HeadEntry, b: EntryPut) =>
  a.hash === b.hash && a.type === b.type && a.contentType === b.contentType;

/**
 * Applies a commit as version head + 1 inside `trx`, which holds the namespace's lock: checks the
 * parent (409 `conflict` naming the names changed since it that the commit touches; a parent newer
 * than head, or one the retention dropped (`details.dropped`), too), refuses deletes of names head
 * lacks (404 naming them), then applies the prefix deletes, the deletes and the puts. Each entry
 * changed or removed is moved to `file_history` and each new one written with the new version, so
 * the rows written are as many as the changes. No effective change: no version, head answered. The
 * space is created when missing.
 */
export async function applyCommit(ctx: ServerContext, trx: DB, input: CommitInput): Promise<CommitOutcome> {
  const now = nowIso(ctx);
  const where = { namespace: input.namespace.name, space: input.spaceName };
  const space = await ensureSpace(trx, {
    namespaceId: input.namespace.id,
    name: input.spaceName,
    createdBy: input.author,
    now,
  });
  const head = await headVersion(trx, space.id);
  const parent = input.parent ?? null;
  if (parent !== null && parent > head) {
    throw new DreamLakeError(
      'conflict',
      `version ${parent} is newer than head (${head}) of ${where.namespace}/${where.space}`,
      {
        names: [],
        head,
      },
    );
  }
  if (parent !== null && parent < head) {
    // The retention deleted the entries removed or replaced before the oldest kept version: the
    // names changed since a dropped parent can no longer all be found, so none is trusted.
    if (await versionDropped(trx, space.id, parent)) {
      throw new DreamLakeError(
        'conflict',
        `version ${parent} of ${where.namespace}/${where.space} was dropped by the retention, so what changed since it is unknown (head is ${head}): make the change against a kept version`,
        { names: [], head, dropped: true },
      );
    }
    const names = await changedSince(
      trx,
      space.id,
      parent,
      [...input.deletes, ...input.puts.map((p) => p.name)],
      input.deletePrefixes,
      NAMES_LISTED,
    );
    if (names.length > 0) {
      throw new DreamLakeError(
        'conflict',
        `${names.length === 1 ? `"${names[0]}" was` : `${names.length} names were`} changed since version ${parent} (head is ${head})`,
        { names, head },
      );
    }
  }

  const byName = await headEntriesByName(trx, space.id, [...input.deletes, ...input.puts.map((p) => p.name)]);
  const absent = input.deletes.filter((name) => !byName.has(name));
  if (absent.length > 0) {
    throw new DreamLakeError(
      'not_found',
      `${absent.length === 1 ? `"${absent[0]}" is` : `${absent.length} names are`} not in ${where.namespace}/${where.space}: nothing was committed`,
      { names: listed(absent), count: absent.length },
    );
  }
  const removed = new Map<string, HeadEntry>();
  for (const prefix of input.deletePrefixes) {
    for (const entry of await headEntriesUnder(trx, space.id, prefix)) removed.set(entry.name, entry);
  }
  for (const name of input.deletes) removed.set(name, byName.get(name)!);
  const changed: HeadEntry[] = [];
  const written: CommitPut[] = [];
  let added = 0;
  for (const put of input.puts) {
    const before = byName.get(put.name);
    removed.delete(put.name);
    if (!before) {
      added += 1;
      written.push(put);
    } else if (!sameEntry(before, put)) {
      changed.push(before);
      written.push(put);
    }
  }
  if (removed.size === 0 && written.length === 0) {
    return { space, created: false, snapshot: head > 0 ? await findSnapshot(trx, space.id, head) : undefined };
  }

  if (input.checkQuota !== false) await checkCommitQuota(ctx, trx, input.namespace, space, written);
  await checkStillStored(
    ctx,
    trx,
    where,
    written.flatMap((p) => (p.provenAt === undefined ? [] : [{ hash: p.hash, provenAt: p.provenAt }])),
  );

  const version = head + 1;
  // An entry changed or removed moves to file_history, where its blob stays live: only the puts
  // can make a blob live. A draft's puts are live already (the draft holds them): none can.
  const touched = input.usageUnchanged ? [] : written.map((e) => e.hash);
  await trackUsage(trx, { namespaceId: input.namespace.id, space: input.spaceName }, touched, async () => {
    await retireEntries(
      trx,
      space.id,
      changed.map((e) => e.name),
      version,
      false,
    );
    await retireEntries(trx, space.id, [...removed.keys()], version, true);
    await writeEntries(trx, space.id, written, version, input.author, now);
  });
  await releaseReservations(trx, where, [...new Set(written.map((p) => p.hash))]);

  const before = head > 0 ? await findSnapshot(trx, space.id, head) : undefined;
  const sum = (entries: Iterable<{ size: number }>) => {
    let total = 0;
    for (const e of entries) total += e.size;
    return total;
  };
  const snapshot = await insertSnapshot(trx, {
    spaceId: space.id,
    version,
    parent: head > 0 ? head : null,
    author: input.author,
    message: input.message,
    createdAt: now,
    added,
    changed: changed.length,
    removed: removed.size,
    files: Number(before?.files ?? 0) + added - removed.size,
    bytes: Number(before?.bytes ?? 0) + sum(written) - sum(changed) - sum(removed.values()),
  });
  return { space, created: true, snapshot };
}

/** Runs a commit in one transaction under the namespace's lock. */
export async function runCommit(ctx: ServerContext, input: CommitInput): Promise<CommitOutcome> {
  return ctx.db.transaction().execute(async (trx) => {
    await lockNamespace(trx, input.namespace.id);
    return applyCommit(ctx, trx, input);
  });
}

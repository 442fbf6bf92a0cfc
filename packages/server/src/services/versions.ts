import { DreamLakeError } from '@dreamlake/presign';
import { z } from 'zod';
import type { DB } from '../db/open.ts';
import { findSnapshot, type SnapshotRow } from '../db/snapshots.ts';
import { droppedError } from './manifest-hash.ts';

/** Versions are 32-bit integers in the database. */
export const VERSION_MAX = 2_147_483_647;

const AT_VERSION = 'a snapshot of the space (0: the empty version before the first); head when omitted';

/** A version in a JSON body: 0 is the empty version (before the first snapshot). */
export const versionField = z.number().int().min(0).max(VERSION_MAX).describe(AT_VERSION);

/**
 * A version in a query string or a path: its decimal digits, without sign, leading zeros, spaces
 * or exponent (`Number` would read an empty value, or one of spaces, as 0).
 */
export const versionParam = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,9})$/, 'must be a version: 0 or a whole number, its digits alone')
  .transform(Number)
  .pipe(versionField);

/** A version in a query string, as `versionParam`. */
export const versionSchema = versionParam.describe(AT_VERSION);

/**
 * The snapshot of `version` a read may use: null for 0 (the empty version), the row otherwise.
 * 404 `not_found` for a version the space never had, and for one the retention dropped
 * (`details.dropped`).
 */
export async function requireVersion(
  db: DB,
  where: { namespace: string; space: string },
  spaceId: string,
  version: number,
): Promise<SnapshotRow | null> {
  if (version === 0) return null;
  const snapshot = await findSnapshot(db, spaceId, version);
  if (!snapshot) throw new DreamLakeError('not_found', `${where.namespace}/${where.space} has no version ${version}`);
  if (snapshot.dropped_at) throw droppedError(version);
  return snapshot;
}

/**
 * What `read` reads of version `version`, checked against the retention on both sides: 404 as
 * `requireVersion` before it, and 404 (`details.dropped`) after it when the retention dropped the
 * version meanwhile, as it may then have removed some of its entries and not others before the
 * read saw them. The retention removes the entries and marks the version dropped in one
 * transaction, and each statement of `read` sees only what was committed when it began: a
 * statement that missed an entry began after that transaction committed, so the check after it
 * sees the mark.
 */
export async function readVersion<T>(
  db: DB,
  where: { namespace: string; space: string },
  spaceId: string,
  version: number,
  read: () => Promise<T>,
): Promise<T> {
  await requireVersion(db, where, spaceId, version);
  const result = await read();
  await requireVersion(db, where, spaceId, version);
  return result;
}

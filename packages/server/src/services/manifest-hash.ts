import { createHash } from 'node:crypto';
import { DreamLakeError } from '@dreamlake/presign';
import type { DB } from '../db/open.ts';
import { findSnapshot } from '../db/snapshots.ts';
import { forEachManifestPage, type ManifestEntry } from '../db/version-files.ts';

/** Entries read per page while hashing a manifest. */
export const MANIFEST_PAGE = 5_000;

/** One canonical line of a manifest (docs/protocol.md, "Versions"). */
export function manifestLine(entry: ManifestEntry): string {
  return `${JSON.stringify([entry.name, entry.hash, entry.size, entry.type, entry.contentType])}\n`;
}

/**
 * The manifestHash of version `version` of a space: the lowercase hex SHA-256 of its canonical
 * lines in the UTF-8 byte order of the names, streamed a page at a time.
 */
export async function computeManifestHash(db: DB, spaceId: string, version: number): Promise<string> {
  const hash = createHash('sha256');
  await forEachManifestPage(db, spaceId, version, MANIFEST_PAGE, (entries) => {
    for (const entry of entries) hash.update(manifestLine(entry), 'utf8');
  });
  return hash.digest('hex');
}

/**
 * The manifestHash of a snapshot: the stored one, or computed now and stored (a snapshot never
 * changes, so once is enough). 404 for an unknown version; `gone` when the retention dropped it
 * (also when that happened while it was being hashed, as its entries were being removed).
 */
export async function ensureManifestHash(db: DB, spaceId: string, version: number): Promise<string> {
  const snapshot = await findSnapshot(db, spaceId, version);
  if (!snapshot) throw new DreamLakeError('not_found', `no version ${version}`);
  if (snapshot.manifest_hash) return snapshot.manifest_hash;
  if (snapshot.dropped_at) throw droppedError(version);
  const manifestHash = await computeManifestHash(db, spaceId, version);
  await db
    .updateTable('snapshots')
    .set({ manifest_hash: manifestHash })
    .where('space_id', '=', spaceId)
    .where('version', '=', version)
    .where('dropped_at', 'is', null)
    .execute();
  const after = await findSnapshot(db, spaceId, version);
  if (!after?.manifest_hash) throw droppedError(version);
  return after.manifest_hash;
}

/** A version the retention dropped: its entries are gone. */
export function droppedError(version: number): DreamLakeError {
  return new DreamLakeError('not_found', `version ${version} was dropped by the retention; its files are gone`, {
    dropped: true,
  });
}

/** A commit's answer carries the manifestHash of a snapshot of at most this many entries (larger ones: the first read computes it). */
export const ANSWER_HASH_MAX_FILES = 10_000;

/**
 * The manifestHash a commit's answer shows for `snapshot`: the stored one, or computed now when the
 * snapshot has at most ANSWER_HASH_MAX_FILES entries. Undefined for a larger one, and when the
 * hashing fails (the commit is made; a read of the snapshot computes it later).
 */
export async function answerManifestHash(
  db: DB,
  spaceId: string,
  snapshot: { version: number; files: number | string; manifest_hash: string | null },
): Promise<string | undefined> {
  if (snapshot.manifest_hash) return snapshot.manifest_hash;
  if (Number(snapshot.files) > ANSWER_HASH_MAX_FILES) return undefined;
  try {
    return await ensureManifestHash(db, spaceId, Number(snapshot.version));
  } catch {
    return undefined;
  }
}

import { DreamLakeError } from '@dreamlake/presign';
import type { SnapshotReceipt, SnapshotView } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import { z } from 'zod';
import { requireSpaceRole } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { listSnapshotsPage } from '../db/snapshot-pages.ts';
import { snapshotView } from '../db/snapshots.ts';
import { snapshotSigner } from '../snapshot-keys.ts';
import { ensureManifestHash } from './manifest-hash.ts';
import { requireVersion, VERSION_MAX, versionParam } from './versions.ts';

/** Snapshots in one answer of `GET …/snapshots` unless `limit` says otherwise, and the most it may say. */
export const SNAPSHOTS_DEFAULT_LIMIT = 100;
export const SNAPSHOTS_MAX_LIMIT = 1000;

export const snapshotsQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(SNAPSHOTS_MAX_LIMIT)
    .optional()
    .describe(`snapshots in this answer, 1 to ${SNAPSHOTS_MAX_LIMIT} (default ${SNAPSHOTS_DEFAULT_LIMIT})`),
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, 'must be the `next` of an earlier answer')
    .transform(Number)
    .refine((v) => v <= VERSION_MAX + 1, 'must be the `next` of an earlier answer')
    .optional()
    .describe('the `next` of the answer before: the older snapshots after it'),
});

export const snapshotParams = z.object({
  version: versionParam.describe('the snapshot'),
});

/**
 * `GET …/snapshots`: a page of the space's snapshots, newest first, with the cursor of the next
 * (older) page when there is one. Snapshots the retention dropped are left out.
 */
export async function listSnapshots(
  ctx: ServerContext,
  user: AuthUser,
  where: { namespace: string; space: string },
  query: unknown,
): Promise<{ snapshots: SnapshotView[]; next?: string }> {
  const { limit, cursor } = parseOrThrow(snapshotsQuery, query, 'query');
  const { space } = await requireSpaceRole(ctx.db, user.id, where.namespace, where.space, 'reader');
  const page = await listSnapshotsPage(ctx.db, space.id, { before: cursor, limit: limit ?? SNAPSHOTS_DEFAULT_LIMIT });
  const snapshots = page.rows.map((row) => snapshotView(where.namespace, where.space, row, row.author_name));
  const last = snapshots.at(-1);
  return page.more && last ? { snapshots, next: String(last.version) } : { snapshots };
}

/**
 * `GET …/snapshots/{version}`: the snapshot with its manifestHash (computed and stored on the
 * first read), and the server's signed receipt of it. 404 for a version the space does not have,
 * or no longer has.
 */
export async function signedSnapshot(
  ctx: ServerContext,
  user: AuthUser,
  where: { namespace: string; space: string },
  params: unknown,
): Promise<{ snapshot: SnapshotView; receipt: SnapshotReceipt }> {
  const { version } = parseOrThrow(snapshotParams, params, 'path');
  const { space } = await requireSpaceRole(ctx.db, user.id, where.namespace, where.space, 'reader');
  let row = await requireVersion(ctx.db, where, space.id, version);
  if (!row)
    throw new DreamLakeError(
      'not_found',
      `version 0 of ${where.namespace}/${where.space} is the empty version, not a snapshot`,
    );
  if (!row.manifest_hash) {
    await ensureManifestHash(ctx.db, space.id, version);
    row = await requireVersion(ctx.db, where, space.id, version);
  }
  if (!row?.manifest_hash) throw new Error(`version ${version} has no manifestHash after computing it`);
  const snapshot = snapshotView(where.namespace, where.space, row, row.author_name);
  const manifestHash = row.manifest_hash;
  return { snapshot, receipt: snapshotSigner(ctx.config).receipt({ ...snapshot, manifestHash }) };
}

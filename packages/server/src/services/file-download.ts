import { DreamLakeError } from '@dreamlake/presign';
import type { DownloadGrant } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import { z } from 'zod';
import { requireSpaceRole } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { findFileByName, type StoredFile } from '../db/files.ts';
import { findVersionFilesByNames } from '../db/version-files.ts';
import { fileNameSchema } from '../names.ts';
import { blobUrl } from '../signing.ts';
import { readVersion, versionSchema } from './versions.ts';

export const downloadQuery = z.object({ name: fileNameSchema, version: versionSchema.optional() });

/**
 * A signed BSS download URL for one file of a space the caller may read: the name's blob at head,
 * or at `version` (404 for a version the space does not have, or no longer has).
 */
export async function downloadGrant(
  ctx: ServerContext,
  user: AuthUser,
  where: { namespace: string; space: string },
  query: unknown,
): Promise<DownloadGrant> {
  const { name, version } = parseOrThrow(downloadQuery, query, 'query');
  const { space } = await requireSpaceRole(ctx.db, user.id, where.namespace, where.space, 'reader');
  let file: StoredFile | undefined;
  if (version === undefined) file = await findFileByName(ctx.db, space.id, name);
  else {
    const found = await readVersion(ctx.db, where, space.id, version, () =>
      findVersionFilesByNames(ctx.db, space.id, version, [name]),
    );
    file = found.get(name);
  }
  const at = version === undefined ? '' : `@${version}`;
  if (!file) throw new DreamLakeError('not_found', `no file "${name}" in ${where.namespace}/${where.space}${at}`);
  const { url, expiresAt } = blobUrl(
    ctx.config,
    ctx.config.bssPublicUrl,
    'download',
    { owner: where.namespace, project: where.space, hash: file.hash },
    ctx.clock(),
  );
  return { url, name: file.name, hash: file.hash, size: file.size, contentType: file.contentType, expiresAt };
}

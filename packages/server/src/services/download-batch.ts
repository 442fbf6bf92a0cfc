import { DreamLakeError } from '@dreamlake/presign';
import type { DownloadBatchEntry } from '@dreamlake/protocol';
import { z } from 'zod';
import { requireSpaceRole } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { findFilesByNames } from '../db/files.ts';
import { findVersionFilesByNames } from '../db/version-files.ts';
import { BATCH_MAX_FILES } from '../limits.ts';
import { fileNameSchema, nameSchema } from '../names.ts';
import { blobUrl } from '../signing.ts';
import { entryError, parseBatch, parseEntry } from './batch-entries.ts';
import { readVersion, versionField } from './versions.ts';

export const batchDownloadEntry = z.strictObject({ name: fileNameSchema });

/**
 * `POST /downloads/batch`: signed BSS download URLs for up to BATCH_MAX_FILES files of one space,
 * with one permission check (`reader`) and one index query per slice of names. An entry that is
 * invalid or names no file in the index answers its own error; the others are granted. With
 * `version`, the names' blobs at that snapshot (404 for the whole batch when the space does not
 * have it, or no longer has it).
 */
export async function batchDownloadGrant(
  ctx: ServerContext,
  user: AuthUser,
  body: unknown,
): Promise<{ files: DownloadBatchEntry[] }> {
  const input = parseBatch(
    { namespace: nameSchema, space: nameSchema, version: versionField.optional() },
    body,
    BATCH_MAX_FILES,
  );
  const { namespace, space, version } = input;
  const access = await requireSpaceRole(ctx.db, user.id, namespace, space, 'reader');
  const where = { namespace, space };

  const answers: DownloadBatchEntry[] = new Array(input.files.length);
  const valid: Array<{ index: number; name: string }> = [];
  input.files.forEach((raw, index) => {
    const entry = parseEntry(batchDownloadEntry, raw, index);
    if (entry.ok) valid.push({ index, name: entry.value.name });
    else answers[index] = entry.error;
  });

  const names = valid.map((v) => v.name);
  const found =
    version === undefined
      ? await findFilesByNames(ctx.db, access.space.id, names)
      : await readVersion(ctx.db, where, access.space.id, version, () =>
          findVersionFilesByNames(ctx.db, access.space.id, version, names),
        );
  const now = ctx.clock();
  for (const { index, name } of valid) {
    const file = found.get(name);
    if (!file) {
      const at = version === undefined ? '' : `@${version}`;
      answers[index] = entryError(
        index,
        new DreamLakeError('not_found', `no file "${name}" in ${namespace}/${space}${at}`),
      );
      continue;
    }
    const { url, expiresAt } = blobUrl(
      ctx.config,
      ctx.config.bssPublicUrl,
      'download',
      { owner: namespace, project: space, hash: file.hash },
      now,
    );
    answers[index] = {
      index,
      url,
      name: file.name,
      hash: file.hash,
      size: file.size,
      contentType: file.contentType,
      expiresAt,
    };
  }
  return { files: answers };
}

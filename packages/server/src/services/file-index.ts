import { DreamLakeError } from '@dreamlake/presign';
import type { IndexedFile } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import { z } from 'zod';
import { requireAccess } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import { nowIso, type ServerContext } from '../context.ts';
import { findFileByName } from '../db/files.ts';
import { reservedSizes } from '../db/upload-reservations.ts';
import { assetTypeSchema, contentTypeSchema, fileNameSchema, hashSchema } from '../names.ts';
import { fileView } from '../views.ts';
import { checkProvenSize, indexedContentType, provenBlob, receiptSchema } from './blob-proof.ts';
import { runCommit } from './commit-core.ts';

export const registerFileBody = z.strictObject({
  name: fileNameSchema,
  hash: hashSchema,
  type: assetTypeSchema,
  contentType: contentTypeSchema.optional(),
  receipt: receiptSchema.optional(),
});

/**
 * Points a file name in a space at a blob, once a receipt or BSS confirms that verified blob, as
 * one new version of the space. `created` is false when the name already pointed at that hash.
 */
export async function registerFile(
  ctx: ServerContext,
  user: AuthUser,
  where: { namespace: string; space: string },
  body: unknown,
): Promise<{ created: boolean; file: IndexedFile }> {
  const input = parseOrThrow(registerFileBody, body);
  const { namespace, space } = await requireAccess(ctx.db, user.id, where, 'writer');
  const previous = space && (await findFileByName(ctx.db, space.id, input.name));
  if (previous && previous.hash === input.hash)
    return { created: false, file: fileView(where.namespace, where.space, previous) };

  const blob = { owner: where.namespace, project: where.space, hash: input.hash };
  const stat = await provenBlob(ctx, blob, input.receipt);
  if (!stat)
    throw new DreamLakeError(
      'not_found',
      `blob storage holds no verified blob ${input.hash} in ${where.namespace}/${where.space}`,
    );
  const granted = await reservedSizes(ctx.db, where, [input.hash], nowIso(ctx));
  checkProvenSize(ctx, stat, granted.get(input.hash));

  // One version of the space, its parent whatever head is.
  const { space: target } = await runCommit(ctx, {
    namespace,
    spaceName: where.space,
    author: user.id,
    message: '',
    puts: [
      {
        name: input.name,
        type: input.type,
        size: stat.size,
        contentType: indexedContentType(stat, input.contentType),
        hash: input.hash,
        provenAt: stat.provenAt,
      },
    ],
    deletes: [],
    deletePrefixes: [],
  });
  const file = await findFileByName(ctx.db, target.id, input.name);
  if (!file) throw new Error('registered file is missing');
  return { created: true, file: fileView(where.namespace, where.space, file) };
}

import { z } from 'zod';
import { TooLargeError } from '@dreamlake/presign';
import { parseOrThrow } from '@dreamlake/presign/http';
import { nowIso, type ServerContext } from '../context.ts';
import { requireNamespaceRole } from '../access.ts';
import { assetTypeSchema, contentTypeSchema, fileNameSchema, hashSchema, nameSchema } from '../names.ts';
import { findSpace, ensureSpace } from '../db/spaces.ts';
import { findFileByHash } from '../db/files.ts';
import { checkQuota } from './quota.ts';
import { registerFile } from './file-index.ts';
import { recordUploadGrant } from '../db/upload-grants.ts';
import { uploadUrls, type UploadUrls } from '../signing.ts';
import { fileView, type FileView } from '../views.ts';
import type { AuthUser } from '../auth/authenticate.ts';

export const uploadInitBody = z.strictObject({
  namespace: nameSchema,
  space: nameSchema,
  filename: fileNameSchema,
  hash: hashSchema,
  contentType: contentTypeSchema,
  type: assetTypeSchema,
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
});

export type UploadInitAnswer = UploadUrls | { exists: true; file: FileView };

/**
 * `POST /uploads/init`: write access, limits, then either the dedup answer (the space's index
 * already points at this hash, or BSS already holds the verified blob) or five signed BSS URLs. Each answer is written to the audit log.
 */
export async function initUpload(ctx: ServerContext, user: AuthUser, body: unknown, ip: string): Promise<UploadInitAnswer> {
  const input = parseOrThrow(uploadInitBody, body);
  const { namespace } = await requireNamespaceRole(ctx.db, user.id, input.namespace, 'writer', 'forbidden');
  if (input.size !== undefined && input.size > ctx.config.maxUploadBytes) {
    throw new TooLargeError(`a file may be at most ${ctx.config.maxUploadBytes} bytes`, { maxBytes: ctx.config.maxUploadBytes });
  }
  const audit = {
    userId: user.id, username: user.username, namespace: input.namespace, space: input.space, hash: input.hash,
    filename: input.filename, type: input.type, size: input.size ?? null, contentType: input.contentType, ip,
  };

  const existingSpace = await findSpace(ctx.db, namespace.id, input.space);
  const existing = existingSpace && (await findFileByHash(ctx.db, existingSpace.id, input.hash));
  const file = existing ? fileView(input.namespace, input.space, existing) : await indexVerifiedBlob(ctx, user, input);
  if (file) {
    await recordUploadGrant(ctx.db, { ...audit, outcome: 'exists', createdAt: nowIso(ctx) });
    return { exists: true, file };
  }

  await checkQuota(ctx, namespace, input.size ?? null);
  if (!existingSpace) await ensureSpace(ctx.db, { namespaceId: namespace.id, name: input.space, createdBy: user.id, now: nowIso(ctx) });
  const urls = uploadUrls(ctx.config, input.type, { owner: input.namespace, project: input.space, hash: input.hash }, ctx.clock());
  await recordUploadGrant(ctx.db, { ...audit, outcome: 'granted', createdAt: nowIso(ctx) });
  return urls;
}

/**
 * A blob BSS already verified in this space but the index never recorded (its upload completed
 * and the register step did not happen): it is indexed under this file name now, so the client
 * skips the transfer. When BSS cannot be asked, the upload is granted as usual.
 */
async function indexVerifiedBlob(ctx: ServerContext, user: AuthUser, input: z.infer<typeof uploadInitBody>): Promise<FileView | null> {
  const held = await ctx.bss.stat({ owner: input.namespace, project: input.space, hash: input.hash }).catch(() => null);
  if (!held) return null;
  const where = { namespace: input.namespace, space: input.space };
  const { file } = await registerFile(ctx, user, where, { name: input.filename, hash: input.hash, type: input.type, contentType: input.contentType });
  return file;
}

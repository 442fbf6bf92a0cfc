import type { DreamLakeError } from '@dreamlake/presign';
import type { BatchGrantEntry, InitRequest } from '@dreamlake/protocol';
import { z } from 'zod';
import { requireAccess } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import { nowIso, type ServerContext } from '../context.ts';
import { findFilesByHashes, type StoredFile } from '../db/files.ts';
import { ensureSpace } from '../db/spaces.ts';
import { BATCH_MAX_FILES } from '../limits.ts';
import { assetTypeSchema, contentTypeSchema, fileNameSchema, hashSchema, nameSchema } from '../names.ts';
import { fileView } from '../views.ts';
import { entryError, parseBatch, parseEntry } from './batch-entries.ts';
import { auditRow, grantUrls } from './grants.ts';
import { tooLarge } from './upload-init.ts';

export const batchGrantEntry = z.strictObject({
  filename: fileNameSchema,
  hash: hashSchema,
  contentType: contentTypeSchema,
  type: assetTypeSchema,
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

/**
 * `POST /uploads/batch`: one permission check and one index query for up to BATCH_MAX_FILES
 * files; each valid entry answers exists or signed URLs (with `singleUrl` for a small file), each
 * invalid or oversized one its own error, as is each entry of a hash stated at two sizes or at
 * another size than its live grant (409 `conflict`) or being collected (503). The space is
 * created once if missing, the quota checked for all granted bytes together, and the audit rows
 * written in the same transaction as the reservations, before the answer.
 */
export async function batchGrant(
  ctx: ServerContext,
  user: AuthUser,
  body: unknown,
  ip: string,
): Promise<{ files: BatchGrantEntry[] }> {
  const input = parseBatch({ namespace: nameSchema, space: nameSchema }, body, BATCH_MAX_FILES);
  const where = { namespace: input.namespace, space: input.space };
  const { namespace, space } = await requireAccess(ctx.db, user.id, where, 'writer', 'forbidden');

  const answers: BatchGrantEntry[] = new Array(input.files.length);
  const valid: Array<{ index: number; request: InitRequest }> = [];
  input.files.forEach((raw, index) => {
    const entry = parseEntry(batchGrantEntry, raw, index);
    if (!entry.ok) answers[index] = entry.error;
    else if (entry.value.size > ctx.config.maxUploadBytes) answers[index] = entryError(index, tooLarge(ctx));
    else valid.push({ index, request: { ...where, ...entry.value } });
  });

  const indexed = space
    ? await findFilesByHashes(
        ctx.db,
        space.id,
        valid.map((v) => v.request.hash),
      )
    : new Map<string, StoredFile>();
  const granted = valid.filter((v) => !indexed.has(v.request.hash));
  // The stated sizes count against the quota together, until registered or collectable; the
  // reservations and every audit row of the answer are committed in one transaction.
  let createdAt = nowIso(ctx);
  const auditOf = (refused: ReadonlyMap<string, DreamLakeError>, at: string) =>
    valid.flatMap(({ request }) => {
      const file = indexed.get(request.hash);
      if (!file && refused.has(request.hash)) return [];
      return [auditRow(user, request, file ? 'exists' : 'granted', ip, at)];
    });
  let refused: ReadonlyMap<string, DreamLakeError> = new Map();
  let now = ctx.clock();
  if (granted.length > 0) {
    const outcome = await ctx.grantQueue.together(
      namespace,
      input.space,
      granted.map((v) => v.request),
      auditOf,
    );
    ({ refused, nowMs: now } = outcome);
    createdAt = new Date(now).toISOString();
  } else {
    await ctx.grants.record(auditOf(refused, createdAt));
  }
  if (!space && granted.length > 0)
    await ensureSpace(ctx.db, { namespaceId: namespace.id, name: input.space, createdBy: user.id, now: createdAt });

  for (const { index, request } of valid) {
    const file = indexed.get(request.hash);
    const error = file ? undefined : refused.get(request.hash);
    if (error) answers[index] = entryError(index, error);
    else if (file) answers[index] = { index, exists: true, file: fileView(input.namespace, input.space, file) };
    else answers[index] = { index, ...grantUrls(ctx, user, request, now, true) };
  }
  return { files: answers };
}

import { DreamLakeError } from '@dreamlake/presign';
import type { InitAnswer } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import { z } from 'zod';
import { checkAccess } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import { nowIso, type ServerContext } from '../context.ts';
import { findGrantTarget } from '../db/access.ts';
import { ensureSpace } from '../db/spaces.ts';
import { assetTypeSchema, contentTypeSchema, fileNameSchema, hashSchema, nameSchema } from '../names.ts';
import { fileView } from '../views.ts';
import { auditRow, grantUrls } from './grants.ts';

export const uploadInitBody = z.strictObject({
  namespace: nameSchema,
  space: nameSchema,
  filename: fileNameSchema,
  hash: hashSchema,
  contentType: contentTypeSchema,
  type: assetTypeSchema,
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

export function tooLarge(ctx: ServerContext): DreamLakeError {
  return new DreamLakeError('too_large', `a file may be at most ${ctx.config.maxUploadBytes} bytes`, {
    maxBytes: ctx.config.maxUploadBytes,
  });
}

/**
 * Who asks for a grant: a user whose session (a JWT's token epoch) may still be unchecked, so that
 * the grant's own query reads the epoch too (auth/authenticate.ts `deferringSession`).
 */
export interface GrantAsker {
  userId: string;
  /** The caller once their row (name, current token epoch) is read; throws 401 for an ended session. */
  settle(row: { username: string; tokenEpoch: number } | undefined): AuthUser;
  /** Settles the session with a query of its own: before any other refusal is answered. */
  check(): Promise<void>;
}

/**
 * `POST /uploads/init`: write access, limits, then either the dedup answer (the space's index
 * already points at this hash) or five signed BSS URLs. BSS is not asked about a hash the index
 * does not know: it says so itself when the upload starts. Each answer is written to the audit log
 * before it is sent; a grant's row in the same transaction as its reservation (services/grant-queue.ts).
 * The caller's session is checked in the same query as the grant's target, and before any refusal.
 */
export async function initUpload(
  ctx: ServerContext,
  asker: GrantAsker,
  body: unknown,
  ip: string,
): Promise<InitAnswer> {
  let input: z.infer<typeof uploadInitBody>;
  try {
    input = parseOrThrow(uploadInitBody, body);
  } catch (error) {
    await asker.check();
    throw error;
  }
  const found = await findGrantTarget(ctx.db, input, asker.userId);
  const user = asker.settle(found.caller);
  const { namespace, space } = checkAccess(found.access, input, 'writer', 'forbidden');
  if (input.size > ctx.config.maxUploadBytes) throw tooLarge(ctx);

  const existing = found.file;
  if (existing) {
    await ctx.grants.record([auditRow(user, input, 'exists', ip, nowIso(ctx))]);
    return { exists: true, file: fileView(input.namespace, input.space, existing) };
  }

  // The stated size counts against the quota until the blob is registered or may be collected;
  // the reservation and the audit row are committed together before the URLs are answered.
  const grantedAt = await ctx.grantQueue.grant(namespace, input.space, input, (createdAt) =>
    auditRow(user, input, 'granted', ip, createdAt),
  );
  if (!space)
    await ensureSpace(ctx.db, { namespaceId: namespace.id, name: input.space, createdBy: user.id, now: nowIso(ctx) });
  return grantUrls(ctx, user, input, grantedAt, false);
}

import type { LookupState } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import { z } from 'zod';
import { requireAccess } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { findFilesByNames, heldHashes } from '../db/files.ts';
import { LOOKUP_MAX_FILES } from '../limits.ts';
import { fileNameSchema, hashSchema } from '../names.ts';
import { parseBatch } from './batch-entries.ts';

export const lookupEntry = z.strictObject({ name: fileNameSchema, hash: hashSchema });

/** `POST …/files/lookup`: the state of each name and hash, in request order. Needs `reader`. */
export async function lookupFiles(
  ctx: ServerContext,
  user: AuthUser,
  where: { namespace: string; space: string },
  body: unknown,
): Promise<{ files: LookupState[] }> {
  const { files } = parseBatch({}, body, LOOKUP_MAX_FILES);
  const entries = parseOrThrow(z.array(lookupEntry), files, 'files');
  const { space } = await requireAccess(ctx.db, user.id, where, 'reader');
  if (!space) return { files: entries.map(() => 'missing') };
  const byName = await findFilesByNames(
    ctx.db,
    space.id,
    entries.map((e) => e.name),
  );
  const indexed = entries.map((e) => byName.get(e.name)?.hash === e.hash);
  const held = await heldHashes(
    ctx.db,
    space.id,
    entries.filter((_, i) => !indexed[i]).map((e) => e.hash),
  );
  return { files: entries.map((e, i) => (indexed[i] ? 'indexed' : held.has(e.hash) ? 'held' : 'missing')) };
}

import { DreamLakeError } from '@dreamlake/presign';
import type { CommitAnswer } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import { z } from 'zod';
import { requireSpaceRole } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { entriesGoneSince, namesWrittenSince } from '../db/commit-writes.ts';
import { lockNamespace } from '../db/namespaces.ts';
import { findSnapshot, headVersion } from '../db/snapshots.ts';
import { applyCommit } from './commit-core.ts';
import { commitAnswer, messageSchema, parentField } from './commits.ts';
import { droppedError } from './manifest-hash.ts';
import { versionField } from './versions.ts';

export const restoreBody = z.strictObject({
  version: versionField.describe('the version to make head again'),
  parent: parentField.optional(),
  message: messageSchema.optional(),
});

/**
 * `POST …/restore`: a new version equal to an earlier one, made from the changes since it (the
 * entries it had that head lost or changed are put back, the names written since it that it did
 * not have are removed), so it costs as many rows as that difference. Every blob it names is held
 * by the space already: no proof, no quota check. An unknown or dropped version is 404; head, or
 * a version equal to head, answers 200 `created: false`.
 */
export async function restoreVersion(
  ctx: ServerContext,
  user: AuthUser,
  where: { namespace: string; space: string },
  body: unknown,
): Promise<{ status: 200 | 201; body: CommitAnswer }> {
  const input = parseOrThrow(restoreBody, body);
  const { namespace, space } = await requireSpaceRole(ctx.db, user.id, where.namespace, where.space, 'writer');
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    await lockNamespace(trx, namespace.id);
    const target = await findSnapshot(trx, space.id, input.version);
    if (!target)
      throw new DreamLakeError('not_found', `${where.namespace}/${where.space} has no version ${input.version}`);
    if (target.dropped_at !== null) throw droppedError(input.version);
    const head = await headVersion(trx, space.id);
    const puts = input.version === head ? [] : await entriesGoneSince(trx, space.id, input.version);
    const back = new Set(puts.map((p) => p.name));
    const written = input.version === head ? [] : await namesWrittenSince(trx, space.id, input.version);
    return applyCommit(ctx, trx, {
      namespace,
      spaceName: where.space,
      author: user.id,
      parent: input.parent,
      message: input.message ?? `restore version ${input.version}`,
      puts,
      deletes: written.filter((name) => !back.has(name)),
      deletePrefixes: [],
      checkQuota: false,
    });
  });
  return commitAnswer(ctx, where, user, outcome);
}

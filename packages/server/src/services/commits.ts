import { DreamLakeError } from '@dreamlake/presign';
import type { CommitAnswer } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import { z } from 'zod';
import { requireAccess } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { byUtf8 } from '../db/commit-writes.ts';
import { snapshotView } from '../db/snapshots.ts';
import { BATCH_MAX_FILES } from '../limits.ts';
import { FILE_NAME_MAX_BYTES, fileNameSchema, NO_NUL } from '../names.ts';
import { type CommitOutcome, runCommit } from './commit-core.ts';
import { registerFileBody } from './file-index.ts';
import { answerManifestHash } from './manifest-hash.ts';
import { allProven, provePuts } from './put-proofs.ts';
import { versionField } from './versions.ts';

/** A commit's message. */
export const messageSchema = z.string().max(10_000).regex(NO_NUL, 'must not contain NUL');

/** A folder (or any start of names) whose every name a commit removes. */
const prefixSchema = z.string().min(1).max(FILE_NAME_MAX_BYTES).regex(NO_NUL, 'must not contain NUL');

/** The version a commit's changes were made against (0: the empty space). */
export const parentField = versionField.describe(
  'the version the changes were made against (0: the empty version); omitted: whatever head is, unchecked',
);

/** The changes of `POST …/commits` and of each batch of a draft. */
export const changesShape = {
  puts: z.array(registerFileBody).optional(),
  deletes: z.array(fileNameSchema).optional(),
  deletePrefixes: z.array(prefixSchema).optional(),
};

export const commitBody = z.strictObject({
  ...changesShape,
  message: messageSchema.optional(),
  parent: parentField.optional(),
});

export type Changes = {
  puts: z.infer<typeof registerFileBody>[];
  deletes: string[];
  deletePrefixes: string[];
};

/**
 * The changes of a body: at most BATCH_MAX_FILES in all (413 `too_large` naming `maxFiles`
 * beyond, before the entries are parsed), and no name given twice, nor both put and deleted, nor
 * a prefix twice (400 `invalid_request` naming them).
 */
export function parseChanges<S extends z.ZodRawShape>(schema: z.ZodObject<S>, body: unknown) {
  const raw = (body ?? {}) as Record<string, unknown>;
  const count = ['puts', 'deletes', 'deletePrefixes'].reduce((n, key) => {
    const list = raw[key];
    return n + (Array.isArray(list) ? list.length : 0);
  }, 0);
  if (count > BATCH_MAX_FILES) {
    throw new DreamLakeError('too_large', `a commit or draft batch may hold at most ${BATCH_MAX_FILES} changes`, {
      maxFiles: BATCH_MAX_FILES,
    });
  }
  const parsed = parseOrThrow(schema, body) as z.infer<z.ZodObject<S>> & Partial<Changes>;
  const changes: Changes = {
    puts: parsed.puts ?? [],
    deletes: parsed.deletes ?? [],
    deletePrefixes: parsed.deletePrefixes ?? [],
  };
  const twice = (names: readonly string[]) => {
    const seen = new Set<string>();
    return names.filter((name) => {
      if (seen.has(name)) return true;
      seen.add(name);
      return false;
    });
  };
  const repeated = [
    ...twice([...changes.puts.map((p) => p.name), ...changes.deletes]),
    ...twice(changes.deletePrefixes),
  ];
  if (repeated.length > 0) {
    const names = [...new Set(repeated)].sort(byUtf8).slice(0, 100);
    throw new DreamLakeError(
      'invalid_request',
      `${names.length === 1 ? `"${names[0]}" is` : `${names.length} names are`} given twice (a name is put or deleted once per commit)`,
      { names },
    );
  }
  return { ...parsed, ...changes };
}

/**
 * The answer of a commit: the version made (201), or head when nothing changed (200), with its
 * manifestHash when the snapshot is small enough to hash now (ANSWER_HASH_MAX_FILES).
 */
export async function commitAnswer(
  ctx: ServerContext,
  where: { namespace: string; space: string },
  user: AuthUser,
  outcome: CommitOutcome,
): Promise<{ status: 200 | 201; body: CommitAnswer }> {
  const row = outcome.snapshot;
  const author = outcome.created ? user.username : (row?.author_name ?? '');
  const snapshot = row ? snapshotView(where.namespace, where.space, row, author) : null;
  const manifestHash = row && (await answerManifestHash(ctx.db, outcome.space.id, row));
  if (snapshot && manifestHash) snapshot.manifestHash = manifestHash;
  return { status: outcome.created ? 201 : 200, body: { created: outcome.created, snapshot } };
}

/**
 * `POST …/commits`: proves the puts' blobs (a put BSS holds no blob for refuses the whole
 * commit, 404 naming them), then applies the changes as one new version.
 */
export async function commitChanges(
  ctx: ServerContext,
  user: AuthUser,
  where: { namespace: string; space: string },
  body: unknown,
): Promise<{ status: 200 | 201; body: CommitAnswer }> {
  const input = parseChanges(commitBody, body);
  const { namespace, space } = await requireAccess(ctx.db, user.id, where, 'writer');
  const puts = allProven(input.puts, await provePuts(ctx, where, space?.id, input.puts));
  const outcome = await runCommit(ctx, {
    namespace,
    spaceName: where.space,
    author: user.id,
    parent: input.parent,
    message: input.message ?? '',
    puts,
    deletes: input.deletes,
    deletePrefixes: input.deletePrefixes,
  });
  return commitAnswer(ctx, where, user, outcome);
}

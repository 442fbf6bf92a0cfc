import { DreamLakeError } from '@dreamlake/presign';
import type { CommitAnswer, DraftView } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import { z } from 'zod';
import { requireAccess } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import { nowIso, type ServerContext } from '../context.ts';
import {
  countDraftEntries,
  type DraftEntry,
  type DraftRow,
  deleteDraft,
  draftEntries,
  draftHashes,
  draftPutsByName,
  findDraft,
  insertDraft,
  putDraftEntries,
  touchDraft,
} from '../db/drafts.ts';
import { trackUsage } from '../db/namespace-usage.ts';
import { lockNamespace, type Namespace } from '../db/namespaces.ts';
import type { DB } from '../db/open.ts';
import { findSpace } from '../db/spaces.ts';
import { releaseReservations } from '../db/upload-reservations.ts';
import { addCandidates } from '../gc/candidates.ts';
import { applyCommit, type CommitPut } from './commit-core.ts';
import { changesShape, commitAnswer, messageSchema, parentField, parseChanges } from './commits.ts';
import { allProven, provePuts } from './put-proofs.ts';
import { checkCommitQuota, checkStillStored } from './quota.ts';

export const draftBody = z.strictObject({ parent: parentField.optional(), message: messageSchema.optional() });
export const draftChangesBody = z.strictObject(changesShape);
export const draftCommitBody = z.strictObject({ message: messageSchema.optional() });

type Where = { namespace: string; space: string };

function view(draft: DraftRow): DraftView {
  return { id: draft.id, parent: draft.parent === null ? null : Number(draft.parent), expiresAt: draft.expires_at };
}

function expiresAt(ctx: ServerContext): string {
  return new Date(ctx.clock() + ctx.config.draftTtlSeconds * 1000).toISOString();
}

/** `POST …/drafts`: opens a draft of a commit, to be filled in batches; it expires DRAFT_TTL_SECONDS after its last batch. */
export async function createDraft(ctx: ServerContext, user: AuthUser, where: Where, body: unknown): Promise<DraftView> {
  const input = parseOrThrow(draftBody, body ?? {});
  const { namespace } = await requireAccess(ctx.db, user.id, where, 'writer');
  const draft = await insertDraft(ctx.db, {
    namespace_id: namespace.id,
    space: where.space,
    created_by: user.id,
    parent: input.parent ?? null,
    message: input.message ?? '',
    created_at: nowIso(ctx),
    expires_at: expiresAt(ctx),
  });
  return view(draft);
}

function unknownDraft(id: string): DreamLakeError {
  return new DreamLakeError(
    'not_found',
    `no open draft "${id}" of yours in this space (it may have expired or been committed)`,
  );
}

/** The caller's open draft of this space, or 404 (another user's, another space's, an expired one alike). */
async function openDraft(db: DB, ctx: ServerContext, user: AuthUser, namespace: Namespace, where: Where, id: string) {
  const draft = await findDraft(db, id);
  const open =
    draft &&
    draft.namespace_id === namespace.id &&
    draft.space === where.space &&
    draft.created_by === user.id &&
    Date.parse(draft.expires_at) > ctx.clock();
  if (!open) throw unknownDraft(id);
  return draft;
}

/**
 * `POST …/drafts/{id}/entries`: adds a batch of changes. The puts' blobs are proven now (a batch
 * with a refused put adds nothing, naming the puts refused); a name (or prefix) given again
 * replaces its entry, so a batch sent twice does no harm. The draft holds the blobs it names: the
 * collection keeps them until it commits, is deleted or expires.
 */
export async function addDraftEntries(
  ctx: ServerContext,
  user: AuthUser,
  where: Where,
  id: string,
  body: unknown,
): Promise<{ entries: number }> {
  const changes = parseChanges(draftChangesBody, body);
  const { namespace, space } = await requireAccess(ctx.db, user.id, where, 'writer');
  await openDraft(ctx.db, ctx, user, namespace, where, id);
  const puts = allProven(changes.puts, await provePuts(ctx, where, space?.id, changes.puts));
  const entries: DraftEntry[] = [
    ...puts.map((p): DraftEntry => ({ op: 'put', ...p })),
    ...changes.deletes.map((name): DraftEntry => ({ op: 'delete', name, prefix: false })),
    ...changes.deletePrefixes.map((name): DraftEntry => ({ op: 'delete', name, prefix: true })),
  ];
  return ctx.db.transaction().execute(async (trx) => {
    await lockNamespace(trx, namespace.id);
    await openDraft(trx, ctx, user, namespace, where, id);
    // The draft holds its blobs from now on: they count against the quota (as a commit's would)
    // instead of their grants. A put the draft already has, at the same hash, adds nothing.
    const had = await draftPutsByName(
      trx,
      id,
      puts.map((p) => p.name),
    );
    const fresh = puts.filter((p) => had.get(p.name) !== p.hash);
    const current = await findSpace(trx, namespace.id, where.space);
    await checkCommitQuota(ctx, trx, namespace, { id: current?.id, name: where.space }, fresh);
    await checkStillStored(ctx, trx, where, puts);
    const named = await draftPutsByName(
      trx,
      id,
      entries.filter((e) => e.op === 'put' || !e.prefix).map((e) => e.name),
    );
    const replaced = await trackUsage(
      trx,
      { namespaceId: namespace.id, space: where.space },
      [...puts.map((p) => p.hash), ...named.values()],
      () => putDraftEntries(trx, id, entries),
    );
    await releaseReservations(
      trx,
      where,
      puts.map((p) => p.hash),
    );
    await touchDraft(trx, id, expiresAt(ctx));
    await addCandidates(trx, where, replaced, nowIso(ctx));
    return { entries: await countDraftEntries(trx, id) };
  });
}

/**
 * `POST …/drafts/{id}/commit`: commits the draft's entries as `POST …/commits` would (against the
 * draft's parent), and removes the draft. A refused commit leaves the draft as it was.
 */
export async function commitDraft(
  ctx: ServerContext,
  user: AuthUser,
  where: Where,
  id: string,
  body: unknown,
): Promise<{ status: 200 | 201; body: CommitAnswer }> {
  const input = parseOrThrow(draftCommitBody, body ?? {});
  const { namespace } = await requireAccess(ctx.db, user.id, where, 'writer');
  await openDraft(ctx.db, ctx, user, namespace, where, id);
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    await lockNamespace(trx, namespace.id);
    const draft = await openDraft(trx, ctx, user, namespace, where, id);
    const entries = await draftEntries(trx, id);
    const puts: CommitPut[] = [];
    const deletes: string[] = [];
    const deletePrefixes: string[] = [];
    for (const entry of entries) {
      if (entry.op === 'put') {
        const { op: _op, ...put } = entry;
        puts.push(put);
      } else if (entry.prefix) deletePrefixes.push(entry.name);
      else deletes.push(entry.name);
    }
    // The draft held its blobs since each was proven, and they counted against the quota since
    // they came (checked then): committing them adds no bytes.
    const done = await applyCommit(ctx, trx, {
      namespace,
      spaceName: where.space,
      author: user.id,
      parent: draft.parent === null ? null : Number(draft.parent),
      message: input.message ?? draft.message,
      puts,
      deletes,
      deletePrefixes,
      checkQuota: false,
      usageUnchanged: true,
    });
    // Every blob the draft held is in head now: dropping the draft leaves each one live.
    await deleteDraft(trx, id);
    return done;
  });
  return commitAnswer(ctx, where, user, outcome);
}

/** `DELETE …/drafts/{id}`: drops the draft; the blobs only it held become candidates for the collection. */
export async function discardDraft(ctx: ServerContext, user: AuthUser, where: Where, id: string): Promise<void> {
  const { namespace } = await requireAccess(ctx.db, user.id, where, 'writer');
  await openDraft(ctx.db, ctx, user, namespace, where, id);
  await ctx.db.transaction().execute(async (trx) => {
    await lockNamespace(trx, namespace.id);
    await openDraft(trx, ctx, user, namespace, where, id);
    const hashes = await draftHashes(trx, id);
    await trackUsage(trx, { namespaceId: namespace.id, space: where.space }, hashes, () => deleteDraft(trx, id));
    await addCandidates(trx, where, hashes, nowIso(ctx));
  });
}

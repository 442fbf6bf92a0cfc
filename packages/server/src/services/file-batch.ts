import { DreamLakeError, NotFoundError } from '@dreamlake/presign';
import { requireAccess } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import { mapBounded } from '../bounded.ts';
import type { BlobStat } from '../bss-client.ts';
import { nowIso, type ServerContext } from '../context.ts';
import { findFilesByHashes, findFilesByNames, putFiles, type StoredFile } from '../db/files.ts';
import { ensureSpace } from '../db/spaces.ts';
import { BATCH_MAX_FILES } from '../limits.ts';
import { type FileView, fileView } from '../views.ts';
import { type EntryError, entryError, parseBatch, parseEntry } from './batch-entries.ts';
import { indexedContentType, provenBlob } from './blob-proof.ts';
import { registerFileBody } from './file-index.ts';
import { checkQuota, storedBytesDelta } from './quota.ts';

/** BSS `stat` calls one batch makes at once, for the entries that come without a receipt. */
const STAT_CONCURRENCY = 8;

export type BatchRegisterAnswer = { index: number; file: FileView; created: boolean } | EntryError;

type Entry = { index: number; input: ReturnType<typeof registerFileBody.parse>; previous: StoredFile | undefined };

/**
 * `POST …/files/batch`: registers up to BATCH_MAX_FILES files with one permission check. An entry
 * with a receipt, or whose hash the space's index already holds, costs no call to BSS; any other
 * is confirmed with `stat` (a few at a time). An
 * invalid entry, a bad or expired receipt or a blob BSS does not hold is that entry's error. The
 * quota is checked for the batch's new bytes together; all index writes are one transaction.
 */
export async function registerFiles(
  ctx: ServerContext,
  user: AuthUser,
  where: { namespace: string; space: string },
  body: unknown,
): Promise<{ files: BatchRegisterAnswer[] }> {
  const { files } = parseBatch({}, body, BATCH_MAX_FILES);
  const { namespace, space } = await requireAccess(ctx.db, user.id, where, 'writer');
  const answers: BatchRegisterAnswer[] = new Array(files.length);
  const view = (file: StoredFile) => fileView(where.namespace, where.space, file);

  const parsed: Array<Omit<Entry, 'previous'>> = [];
  const names = new Set<string>();
  files.forEach((raw, index) => {
    const entry = parseEntry(registerFileBody, raw, index);
    if (!entry.ok) answers[index] = entry.error;
    else if (names.has(entry.value.name))
      answers[index] = entryError(
        index,
        new DreamLakeError('invalid_request', `"${entry.value.name}" appears earlier in this batch`),
      );
    else {
      names.add(entry.value.name);
      parsed.push({ index, input: entry.value });
    }
  });

  const previous = space ? await findFilesByNames(ctx.db, space.id, [...names]) : new Map<string, StoredFile>();
  const toProve: Entry[] = [];
  for (const entry of parsed) {
    const before = previous.get(entry.input.name);
    if (before && before.hash === entry.input.hash)
      answers[entry.index] = { index: entry.index, file: view(before), created: false };
    else toProve.push({ ...entry, previous: before });
  }

  // A hash the space's index already holds was verified when it was first registered: no need to ask BSS again.
  const withoutReceipt = toProve.filter((e) => !e.input.receipt).map((e) => e.input.hash);
  const indexed =
    space && withoutReceipt.length > 0
      ? await findFilesByHashes(ctx.db, space.id, withoutReceipt)
      : new Map<string, StoredFile>();
  const proofs = await proveAll(ctx, where, toProve, indexed);
  const writes: Array<Entry & { proven: BlobStat }> = [];
  toProve.forEach((entry, i) => {
    const proof = proofs[i]!;
    if (proof instanceof DreamLakeError) answers[entry.index] = entryError(entry.index, proof);
    else writes.push({ ...entry, proven: proof });
  });
  if (writes.length === 0) return { files: answers };

  await checkQuota(
    ctx,
    namespace,
    await storedBytesDelta(
      ctx,
      space?.id,
      writes.map((w) => ({ hash: w.input.hash, size: w.proven.size, previous: w.previous })),
    ),
  );
  const now = nowIso(ctx);
  const target =
    space ?? (await ensureSpace(ctx.db, { namespaceId: namespace.id, name: where.space, createdBy: user.id, now }));
  const stored = writes.map((w) => ({
    index: w.index,
    file: {
      namespace: where.namespace,
      space: where.space,
      name: w.input.name,
      type: w.input.type,
      size: w.proven.size,
      contentType: indexedContentType(w.proven, w.input.contentType),
      hash: w.input.hash,
      uploadedBy: user.username,
      createdAt: now,
    } satisfies FileView,
  }));
  await putFiles(
    ctx.db,
    stored.map(({ file }) => ({ ...file, spaceId: target.id, uploadedBy: user.id, now })),
  );
  for (const { index, file } of stored) answers[index] = { index, file, created: true };
  return { files: answers };
}

/** Each entry's verified blob, or the error that entry answers; BSS is asked once per hash. */
async function proveAll(
  ctx: ServerContext,
  where: { namespace: string; space: string },
  entries: readonly Entry[],
  indexed: ReadonlyMap<string, StoredFile>,
): Promise<Array<BlobStat | DreamLakeError>> {
  const stats = new Map<string, Promise<BlobStat | null>>();
  return mapBounded(entries, STAT_CONCURRENCY, async ({ input }) => {
    const blob = { owner: where.namespace, project: where.space, hash: input.hash };
    try {
      let proven: BlobStat | null;
      const known = indexed.get(input.hash);
      if (input.receipt) proven = await provenBlob(ctx, blob, input.receipt);
      else if (known) proven = { size: known.size, contentType: known.contentType };
      else {
        let asked = stats.get(input.hash);
        if (!asked) {
          asked = provenBlob(ctx, blob, undefined);
          stats.set(input.hash, asked);
        }
        proven = await asked;
      }
      return (
        proven ??
        new NotFoundError(`blob storage holds no verified blob ${input.hash} in ${where.namespace}/${where.space}`)
      );
    } catch (error) {
      if (error instanceof DreamLakeError) return error;
      throw error;
    }
  });
}

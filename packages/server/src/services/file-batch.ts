import { DreamLakeError, NotFoundError } from '@dreamlake/presign';
import { requireAccess } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import { mapBounded } from '../bounded.ts';
import { nowIso, type ServerContext } from '../context.ts';
import { findFilesByHashes, findFilesByNames, type StoredFile } from '../db/files.ts';
import { reservedSizes } from '../db/upload-reservations.ts';
import { BATCH_MAX_FILES } from '../limits.ts';
import { type FileView, fileView } from '../views.ts';
import { type EntryError, entryError, parseBatch, parseEntry } from './batch-entries.ts';
import { checkProvenSize, indexedContentType, type ProvenBlob, provenBlob } from './blob-proof.ts';
import { registerFileBody } from './file-index.ts';
import { writeIndex } from './quota.ts';

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

  // A hash the space's index already holds was verified when it was first registered: no need to
  // ask BSS again. The blob was stored when the index was read; a delete since refuses the write.
  const withoutReceipt = toProve.filter((e) => !e.input.receipt).map((e) => e.input.hash);
  const readAt = ctx.clock();
  const indexed =
    space && withoutReceipt.length > 0
      ? await findFilesByHashes(ctx.db, space.id, withoutReceipt)
      : new Map<string, StoredFile>();
  const proofs = await proveAll(ctx, where, toProve, indexed, readAt);
  const granted = await reservedSizes(
    ctx.db,
    where,
    toProve.filter((e) => !indexed.has(e.input.hash)).map((e) => e.input.hash),
    nowIso(ctx),
  );
  const writes: Array<Entry & { proven: ProvenBlob }> = [];
  toProve.forEach((entry, i) => {
    const proof = proofs[i]!;
    const refused = proof instanceof DreamLakeError ? proof : sizeError(ctx, entry, proof, indexed, granted);
    if (refused) answers[entry.index] = entryError(entry.index, refused);
    else writes.push({ ...entry, proven: proof as ProvenBlob });
  });
  if (writes.length === 0) return { files: answers };

  const now = nowIso(ctx);
  const stored = writes.map((w) => ({
    index: w.index,
    previous: w.previous,
    provenAt: w.proven.provenAt,
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
  await writeIndex(
    ctx,
    namespace,
    where.space,
    user.id,
    stored.map(({ file, previous, provenAt }) => ({ file: { ...file, uploadedBy: user.id, now }, provenAt, previous })),
  );
  for (const { index, file } of stored) answers[index] = { index, file, created: true };
  return { files: answers };
}

/** The size error of a blob proven by a receipt or BSS (one the index already holds was checked when first registered). */
function sizeError(
  ctx: ServerContext,
  entry: Entry,
  proven: ProvenBlob,
  indexed: ReadonlyMap<string, StoredFile>,
  granted: ReadonlyMap<string, number>,
): DreamLakeError | null {
  if (!entry.input.receipt && indexed.has(entry.input.hash)) return null;
  try {
    checkProvenSize(ctx, proven, granted.get(entry.input.hash));
    return null;
  } catch (error) {
    if (error instanceof DreamLakeError) return error;
    throw error;
  }
}

/**
 * Each entry's verified blob, or the error that entry answers; BSS is asked once per hash. A blob
 * the index held when read at `readAt` is proven as of then.
 */
async function proveAll(
  ctx: ServerContext,
  where: { namespace: string; space: string },
  entries: readonly Entry[],
  indexed: ReadonlyMap<string, StoredFile>,
  readAt: number,
): Promise<Array<ProvenBlob | DreamLakeError>> {
  const stats = new Map<string, Promise<ProvenBlob | null>>();
  return mapBounded(entries, STAT_CONCURRENCY, async ({ input }) => {
    const blob = { owner: where.namespace, project: where.space, hash: input.hash };
    try {
      let proven: ProvenBlob | null;
      const known = indexed.get(input.hash);
      if (input.receipt) proven = await provenBlob(ctx, blob, input.receipt);
      else if (known) proven = { size: known.size, contentType: known.contentType, provenAt: readAt };
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

import { DreamLakeError } from '@dreamlake/presign';
import type { IndexedFile, RegisterEntry } from '@dreamlake/protocol';
import { requireAccess } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import { nowIso, type ServerContext } from '../context.ts';
import { findFilesByNames, type StoredFile } from '../db/files.ts';
import { BATCH_MAX_FILES } from '../limits.ts';
import { fileView } from '../views.ts';
import { entryError, parseBatch, parseEntry } from './batch-entries.ts';
import { runCommit } from './commit-core.ts';
import { registerFileBody } from './file-index.ts';
import { type ProvenPut, provePuts } from './put-proofs.ts';

type Entry = { index: number; input: ReturnType<typeof registerFileBody.parse> };

/**
 * `POST …/files/batch`: registers up to BATCH_MAX_FILES files with one permission check. An entry
 * with a receipt, or whose hash the space already holds, costs no call to BSS; any other is
 * confirmed with `stat` (a few at a time). An invalid entry, a bad or expired receipt or a blob
 * BSS does not hold is that entry's error. The valid entries are one commit (one new version of
 * the space, its parent whatever head is): the quota is checked for their new bytes together, and
 * all index writes are one transaction.
 */
export async function registerFiles(
  ctx: ServerContext,
  user: AuthUser,
  where: { namespace: string; space: string },
  body: unknown,
): Promise<{ files: RegisterEntry[] }> {
  const { files } = parseBatch({}, body, BATCH_MAX_FILES);
  const { namespace, space } = await requireAccess(ctx.db, user.id, where, 'writer');
  const answers: RegisterEntry[] = new Array(files.length);
  const view = (file: StoredFile) => fileView(where.namespace, where.space, file);

  const parsed: Entry[] = [];
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
    else toProve.push(entry);
  }

  const proofs = await provePuts(
    ctx,
    where,
    space?.id,
    toProve.map((e) => e.input),
  );
  const writes: Array<{ index: number; put: ProvenPut }> = [];
  toProve.forEach((entry, i) => {
    const proof = proofs[i]!;
    if (proof instanceof DreamLakeError) answers[entry.index] = entryError(entry.index, proof);
    else writes.push({ index: entry.index, put: proof });
  });
  if (writes.length === 0) return { files: answers };

  const now = nowIso(ctx);
  await runCommit(ctx, {
    namespace,
    spaceName: where.space,
    author: user.id,
    message: '',
    puts: writes.map((w) => w.put),
    deletes: [],
    deletePrefixes: [],
  });
  for (const { index, put } of writes) {
    const file: IndexedFile = {
      namespace: where.namespace,
      space: where.space,
      name: put.name,
      type: put.type,
      size: put.size,
      contentType: put.contentType,
      hash: put.hash,
      uploadedBy: user.username,
      createdAt: now,
    };
    answers[index] = { index, file, created: true };
  }
  return { files: answers };
}

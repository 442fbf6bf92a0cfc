/**
 * A space's snapshots as the commands and the library read and write them: the history, the
 * names between two versions, removals and restores, each over the protocol client's pages.
 */
import type { CommitAnswer, DiffEntry, ServerApi, SnapshotView } from './api.ts';
import { UsageError } from './errors.ts';
import { parseFileRef, parseSpacePath, type SpaceRef } from './target.ts';

/** A space's snapshots, newest first: every page, or the newest `max`. */
export async function snapshotHistory(
  api: ServerApi,
  where: SpaceRef,
  max = Number.POSITIVE_INFINITY,
): Promise<SnapshotView[]> {
  const out: SnapshotView[] = [];
  let cursor: string | undefined;
  do {
    const limit = Math.min(1000, max - out.length);
    const page = await api.snapshots(where.namespace, where.space, {
      limit,
      ...(cursor !== undefined ? { cursor } : {}),
    });
    for (const snapshot of page.snapshots) if (out.length < max) out.push(snapshot);
    if (page.next !== undefined && page.next === cursor) break;
    cursor = page.next;
  } while (cursor !== undefined && out.length < max);
  return out;
}

/** The space's head version: 0 while it has no snapshot. */
export async function headVersion(api: ServerApi, where: SpaceRef): Promise<number> {
  const [newest] = await snapshotHistory(api, where, 1);
  return newest?.version ?? 0;
}

/** Every name that differs from version `from` to version `to` (0: the empty space), in name order. */
export async function diffVersions(api: ServerApi, where: SpaceRef, from: number, to: number): Promise<DiffEntry[]> {
  const out: DiffEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.diff(where.namespace, where.space, from, to, cursor !== undefined ? { cursor } : {});
    for (const change of page.changes) out.push(change);
    if (page.next !== undefined && page.next === cursor) break;
    cursor = page.next;
  } while (cursor !== undefined);
  return out;
}

/** What `rm` removes from one space's head: names, and folders (every name under a prefix ending in `/`). */
export interface Removal extends SpaceRef {
  deletes: string[];
  deletePrefixes: string[];
}

/**
 * `NAMESPACE/SPACE/NAME` targets (all in one space) as one removal; with `recursive`, each is a
 * folder: `NAMESPACE/SPACE/PREFIX/` (the `/` added when missing). A folder without `recursive`,
 * or a whole space, is a usage error.
 */
export function removalOf(targets: readonly string[], recursive: boolean): Removal {
  if (targets.length === 0) throw new UsageError('name at least one NAMESPACE/SPACE/NAME to remove');
  let space: SpaceRef | undefined;
  const deletes = new Set<string>();
  const deletePrefixes = new Set<string>();
  for (const text of targets) {
    let ref: SpaceRef & { name: string };
    if (recursive) {
      const at = parseSpacePath(text);
      if (at.version !== undefined)
        throw new UsageError(`"${text}": removing writes to a space's head: leave out "@${at.version}"`);
      if (at.path === '' || at.path === '/')
        throw new UsageError(`"${text}": name a folder in the space (NAMESPACE/SPACE/FOLDER/), not the whole space`);
      ref = { namespace: at.namespace, space: at.space, name: at.path.endsWith('/') ? at.path : `${at.path}/` };
      if (
        ref.name
          .split('/')
          .slice(0, -1)
          .some((p) => p === '')
      )
        throw new UsageError(`"${text}" is not NAMESPACE/SPACE/FOLDER/`);
      deletePrefixes.add(ref.name);
    } else {
      if (text.endsWith('/'))
        throw new UsageError(`"${text}" is a folder: remove it and everything under it with \`dreamlake rm -r\``);
      ref = parseFileRef(text);
      deletes.add(ref.name);
    }
    if (space && (space.namespace !== ref.namespace || space.space !== ref.space))
      throw new UsageError(
        `one removal is one snapshot of one space: "${text}" is not in ${space.namespace}/${space.space}`,
      );
    space ??= { namespace: ref.namespace, space: ref.space };
  }
  const where = space as SpaceRef;
  return { ...where, deletes: [...deletes], deletePrefixes: [...deletePrefixes] };
}

/** Changes in one commit or one batch of a draft (the server's limit). */
const CHANGES_MAX = 1000;

/**
 * Removes names and folders from a space's head as one snapshot: one commit, or a draft filled
 * CHANGES_MAX changes at a time when there are more.
 */
export async function commitRemoval(api: ServerApi, removal: Removal, message?: string): Promise<CommitAnswer> {
  const { namespace, space, deletes, deletePrefixes } = removal;
  const said = message ? { message } : {};
  if (deletes.length + deletePrefixes.length <= CHANGES_MAX) {
    return api.commit(namespace, space, {
      ...(deletes.length > 0 ? { deletes } : {}),
      ...(deletePrefixes.length > 0 ? { deletePrefixes } : {}),
      ...said,
    });
  }
  const draft = await api.openDraft(namespace, space, said);
  try {
    for (let start = 0; start < deletePrefixes.length; start += CHANGES_MAX)
      await api.addDraftEntries(namespace, space, draft.id, {
        deletePrefixes: deletePrefixes.slice(start, start + CHANGES_MAX),
      });
    for (let start = 0; start < deletes.length; start += CHANGES_MAX)
      await api.addDraftEntries(namespace, space, draft.id, { deletes: deletes.slice(start, start + CHANGES_MAX) });
    return await api.commitDraft(namespace, space, draft.id, said);
  } catch (error) {
    await api.deleteDraft(namespace, space, draft.id).catch(() => undefined);
    throw error;
  }
}

import type { DiffEntry } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import { z } from 'zod';
import { requireSpaceRole } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import type { StoredFile } from '../db/files.ts';
import { changedNamesPage, findVersionFilesByNames } from '../db/version-files.ts';
import { cursorAfter, LIST_DEFAULT_LIMIT, nameCursor, pageLimit } from './file-list.ts';
import { readVersion, versionSchema } from './versions.ts';

export const diffQuery = z.object({
  from: versionSchema.describe('the version compared from (0: the empty version)'),
  to: versionSchema.describe('the version compared to (0: the empty version); may be older than `from`'),
  limit: pageLimit('changes'),
  cursor: nameCursor,
});

type Side = NonNullable<DiffEntry['before']>;
const side = (f: StoredFile): Side => ({ hash: f.hash, size: f.size, type: f.type, contentType: f.contentType });

/** What changed for one name from `before` (at `from`) to `after` (at `to`); undefined when nothing did. */
function change(name: string, before: StoredFile | undefined, after: StoredFile | undefined): DiffEntry | undefined {
  if (before && after) {
    const same = before.hash === after.hash && before.type === after.type && before.contentType === after.contentType;
    return same ? undefined : { name, change: 'changed', before: side(before), after: side(after) };
  }
  if (after) return { name, change: 'added', after: side(after) };
  if (before) return { name, change: 'removed', before: side(before) };
  return undefined;
}

/**
 * `GET …/diff`: the names that differ from version `from` to version `to`, in name order, a page
 * at a time: `added` (only at `to`), `removed` (only at `from`), `changed` (hash, type or content
 * type differ), with the entry on each side. Only the rows of the versions between the two are
 * read (those whose range starts or ends there), so it costs the changes, not the manifests.
 */
export async function diffVersions(
  ctx: ServerContext,
  user: AuthUser,
  where: { namespace: string; space: string },
  query: unknown,
): Promise<{ from: number; to: number; changes: DiffEntry[]; next?: string }> {
  const { from, to, limit: asked, cursor } = parseOrThrow(diffQuery, query, 'query');
  const limit = asked ?? LIST_DEFAULT_LIMIT;
  const { space } = await requireSpaceRole(ctx.db, user.id, where.namespace, where.space, 'reader');
  // Both versions are checked before and after the read (readVersion): a diff read while the
  // retention dropped either is 404, never a part of it.
  return readVersion(ctx.db, where, space.id, from, () =>
    readVersion(ctx.db, where, space.id, to, () => diffPage(ctx, space.id, from, to, cursor, limit)),
  );
}

/** One page of the diff from `from` to `to`, after the name `cursor`. */
async function diffPage(
  ctx: ServerContext,
  spaceId: string,
  from: number,
  to: number,
  cursor: string | undefined,
  limit: number,
): Promise<{ from: number; to: number; changes: DiffEntry[]; next?: string }> {
  const changes: DiffEntry[] = [];
  if (from === to) return { from, to, changes };
  const [low, high] = from < to ? [from, to] : [to, from];
  let after = cursor;
  // A name written and then written back between the two versions is read and left out, so a
  // page may take several reads to fill.
  for (;;) {
    const page = await changedNamesPage(ctx.db, spaceId, low, high, { after, limit: limit - changes.length });
    const [atFrom, atTo] = await Promise.all([
      findVersionFilesByNames(ctx.db, spaceId, from, page.names),
      findVersionFilesByNames(ctx.db, spaceId, to, page.names),
    ]);
    for (const name of page.names) {
      const entry = change(name, atFrom.get(name), atTo.get(name));
      if (entry) changes.push(entry);
    }
    after = page.names.at(-1) ?? after;
    if (!page.more) return { from, to, changes };
    if (changes.length >= limit && after !== undefined) return { from, to, changes, next: cursorAfter(after) };
  }
}

import type { IndexedFile } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import { z } from 'zod';
import { requireSpaceRole } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { listFilesPage } from '../db/file-pages.ts';
import { listVersionFilesPage } from '../db/version-files.ts';
import { FILE_NAME_MAX_BYTES, NO_NUL } from '../names.ts';
import { fileView } from '../views.ts';
import { readVersion, versionSchema } from './versions.ts';

/** Files in one answer of `GET …/files` unless `limit` says otherwise, and the most it may say. */
export const LIST_DEFAULT_LIMIT = 1000;
export const LIST_MAX_LIMIT = 10_000;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The cursor of the page after `name`: the name itself, opaque to clients (base64url of its UTF-8). */
export function cursorAfter(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url');
}

/** The name a cursor was made from, or undefined when this server did not make it. */
function nameOfCursor(cursor: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.toString('base64url') !== cursor || bytes.length > FILE_NAME_MAX_BYTES) return undefined;
  try {
    const name = utf8.decode(bytes);
    return name.includes('\u0000') ? undefined : name;
  } catch {
    return undefined;
  }
}

/** A `cursor` parameter: the `next` of an earlier answer, read back as the name it was made from. */
export const nameCursor = z
  .string()
  .transform((cursor, ctx) => {
    const name = nameOfCursor(cursor);
    if (name === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be the `next` of an earlier answer' });
      return z.NEVER;
    }
    return name;
  })
  .optional()
  .describe('the `next` of the answer before: the page after it');

/** `limit` of a paged answer: how many `what` it holds, 1 to LIST_MAX_LIMIT (default LIST_DEFAULT_LIMIT). */
export const pageLimit = (what: string) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(LIST_MAX_LIMIT)
    .optional()
    .describe(`${what} in this answer, 1 to ${LIST_MAX_LIMIT} (default ${LIST_DEFAULT_LIMIT})`);

export const listQuery = z.object({
  limit: pageLimit('files'),
  cursor: nameCursor,
  prefix: z
    .string()
    .max(FILE_NAME_MAX_BYTES)
    .regex(NO_NUL, 'must not contain NUL')
    .optional()
    .describe('only names that start with this (a folder: `run42/`)'),
  version: versionSchema.optional(),
});

/**
 * `GET …/files`: one page of a space the caller may read, in name order, with the cursor of the
 * next page when there is one (`next`, absent on the last page). Head's files, or those of
 * `version` (404 for a version the space does not have, or no longer has).
 */
export async function listSpaceFilesPage(
  ctx: ServerContext,
  user: AuthUser,
  where: { namespace: string; space: string },
  query: unknown,
): Promise<{ files: IndexedFile[]; next?: string }> {
  const { limit, cursor, prefix, version } = parseOrThrow(listQuery, query, 'query');
  const { space } = await requireSpaceRole(ctx.db, user.id, where.namespace, where.space, 'reader');
  const request = { after: cursor, prefix, limit: limit ?? LIST_DEFAULT_LIMIT };
  let page: Awaited<ReturnType<typeof listFilesPage>>;
  if (version === undefined) page = await listFilesPage(ctx.db, space.id, request);
  else
    page = await readVersion(ctx.db, where, space.id, version, () =>
      listVersionFilesPage(ctx.db, space.id, version, request),
    );
  const files = page.files.map((f) => fileView(where.namespace, where.space, f));
  const last = files.at(-1);
  return page.more && last ? { files, next: cursorAfter(last.name) } : { files };
}

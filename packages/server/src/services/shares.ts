import { createHash, randomBytes } from 'node:crypto';
import { DreamLakeError } from '@dreamlake/presign';
import type { CreatedShare, ListedShare } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import { z } from 'zod';
import { atLeast, requireSpaceRole } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import { nowIso, type ServerContext } from '../context.ts';
import { findNamespaceAccess } from '../db/access.ts';
import { findShareById, insertShare, listShares, revokeShare } from '../db/shares.ts';
import { FILE_NAME_MAX_BYTES, fileNameProblem, NO_NUL, nameSchema } from '../names.ts';
import { requireVersion, VERSION_MAX } from './versions.ts';

/** A link lasts this long unless asked otherwise (or SHARE_MAX_SECONDS, when shorter). */
export const SHARE_DEFAULT_SECONDS = 7 * 24 * 3600;

/** Where a link's page is: `/s/` + its secret. */
export const SHARE_PATH_PREFIX = '/s/';

const SECRET_PREFIX = 'dls_';
/** 32 random bytes (256 bits) as base64url after the prefix. */
const SECRET_PATTERN = /^dls_[A-Za-z0-9_-]{43}$/;

/** A new link secret: `dls_` and 256 random bits. */
export function newShareSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** What the database keeps of a secret: its SHA-256 (hex). */
export function hashShareSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether a string has the form of a link secret (anything else is answered as an unknown link). */
export function isShareSecret(value: string): boolean {
  return SECRET_PATTERN.test(value);
}

/** A filter on names within a link: only the names that start with it. */
export const sharePrefixSchema = z.string().max(FILE_NAME_MAX_BYTES).regex(NO_NUL, 'must not contain NUL');

const FOLDER_RULE = 'must be a folder: a valid file name followed by `/` (`run4/`, `run4/day1/`)';

/** What a link names within its space: a folder ending in `/`, or the whole space when empty. */
export const shareFolderSchema = z
  .string()
  .max(FILE_NAME_MAX_BYTES)
  .superRefine((prefix, ctx) => {
    if (prefix === '') return;
    if (!prefix.endsWith('/')) {
      ctx.addIssue({ code: 'custom', message: `${FOLDER_RULE}, so \`run4\` never names \`run42/\` or \`run4.csv\`` });
      return;
    }
    const problem = fileNameProblem(prefix.slice(0, -1));
    if (problem !== null) ctx.addIssue({ code: 'custom', message: `${FOLDER_RULE}; this one ${problem}` });
  })
  .describe('only the names in this folder (`run42/`, ending in `/`); the whole space when empty or absent');

/**
 * The folder a stored link names: its prefix, with a `/` added to one made before links were
 * folders, so that `run4` never serves `run42/` or `run4.csv`.
 */
export function shareFolder(prefix: string): string {
  return prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
}

export const createShareBody = z.strictObject({
  namespace: nameSchema,
  space: nameSchema,
  version: z
    .number()
    .int()
    .min(1)
    .max(VERSION_MAX)
    .optional()
    .describe('the snapshot the link serves, whatever head becomes; absent: head at each use'),
  prefix: shareFolderSchema.optional(),
  expiresInSeconds: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('how long the link works (default 7 days, at most the server’s SHARE_MAX_SECONDS)'),
});

export const shareIdParams = z.object({ id: z.string().min(1).max(100).regex(NO_NUL, 'must not contain NUL') });
export const listSharesQuery = z.object({ namespace: nameSchema.optional().describe('only this namespace’s links') });

/** The expiry of a new link: `asked` seconds from now within SHARE_MAX_SECONDS (400 naming it beyond). */
function shareExpiry(ctx: ServerContext, asked: number | undefined): string {
  const max = ctx.config.shareMaxSeconds;
  if (asked !== undefined && asked > max)
    throw new DreamLakeError(
      'invalid_request',
      `a share link may last at most ${max} seconds on this server (SHARE_MAX_SECONDS)`,
      {
        maxSeconds: max,
      },
    );
  const seconds = asked ?? Math.min(SHARE_DEFAULT_SECONDS, max);
  return new Date(ctx.clock() + seconds * 1000).toISOString();
}

/**
 * `POST /shares`: a link to a space a writer (or above) of its namespace may share, at a version
 * that exists or at head; 404 for a space the caller cannot read, or a version it does not have.
 */
export async function createShare(ctx: ServerContext, user: AuthUser, body: unknown): Promise<CreatedShare> {
  const input = parseOrThrow(createShareBody, body);
  const where = { namespace: input.namespace, space: input.space };
  const access = await requireSpaceRole(ctx.db, user.id, where.namespace, where.space, 'writer');
  if (input.version !== undefined) await requireVersion(ctx.db, where, access.space.id, input.version);
  const expiresAt = shareExpiry(ctx, input.expiresInSeconds);
  const secret = newShareSecret();
  const createdAt = nowIso(ctx);
  const prefix = input.prefix ?? '';
  const version = input.version ?? null;
  const id = await insertShare(ctx.db, {
    secretHash: hashShareSecret(secret),
    namespaceId: access.namespace.id,
    spaceId: access.space.id,
    version,
    prefix,
    createdBy: user.id,
    createdAt,
    expiresAt,
  });
  return { id, secret, path: `${SHARE_PATH_PREFIX}${secret}`, ...where, version, prefix, createdAt, expiresAt };
}

/** `GET /shares`: the unrevoked links of the caller's namespaces where they may share, newest first. */
export async function listUserShares(
  ctx: ServerContext,
  user: AuthUser,
  query: unknown,
): Promise<{ shares: ListedShare[] }> {
  const { namespace } = parseOrThrow(listSharesQuery, query, 'query');
  const now = ctx.clock();
  const shares = await listShares(ctx.db, user.id, namespace);
  return { shares: shares.map((s) => ({ ...s, expired: Date.parse(s.expiresAt) <= now })) };
}

/** `DELETE /shares/{id}`: revokes a link of a namespace where the caller is a writer or above; 404 otherwise. */
export async function revokeUserShare(ctx: ServerContext, user: AuthUser, params: unknown): Promise<void> {
  const { id } = parseOrThrow(shareIdParams, params, 'path');
  const share = await findShareById(ctx.db, id);
  const access = share && (await findNamespaceAccess(ctx.db, share.namespace, user.id));
  if (!share || !access || !atLeast(access.role, 'writer') || share.revokedAt !== null)
    throw new DreamLakeError('not_found', 'no such share link');
  await revokeShare(ctx.db, id, nowIso(ctx));
}

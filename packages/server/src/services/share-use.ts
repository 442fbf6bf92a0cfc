import { createHash } from 'node:crypto';
import { DreamLakeError } from '@dreamlake/presign';
import type { SharedFile, ShareInfo } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import { z } from 'zod';
import { atLeast } from '../access.ts';
import { clientOf } from '../auth/client-address.ts';
import { RateLimitedError } from '../auth/rate-limited.ts';
import type { ServerContext } from '../context.ts';
import { findNamespaceAccess } from '../db/access.ts';
import { listFilesPage } from '../db/file-pages.ts';
import { findFilesByNames, type StoredFile } from '../db/files.ts';
import { countShareRequest, findShareBySecretHash, recordShareUse, type StoredShare } from '../db/shares.ts';
import { findSnapshot } from '../db/snapshots.ts';
import { findVersionFilesByNames, listVersionFilesPage } from '../db/version-files.ts';
import { BATCH_MAX_FILES } from '../limits.ts';
import { fileNameSchema } from '../names.ts';
import { blobUrl } from '../signing.ts';
import { type EntryError, entryError, parseBatch, parseEntry } from './batch-entries.ts';
import { cursorAfter, LIST_DEFAULT_LIMIT, nameCursor, pageLimit } from './file-list.ts';
import { ensureManifestHash } from './manifest-hash.ts';
import { hashShareSecret, isShareSecret, shareFolder, sharePrefixSchema } from './shares.ts';
import { versionField, versionSchema } from './versions.ts';

export type { SharedFile, ShareInfo } from '@dreamlake/protocol';

/** Requests one link answers per minute, over every server process; more are 429 with Retry-After. */
export const SHARE_REQUESTS_PER_MINUTE = 600;
const WINDOW_MS = 60_000;

/** The SHA-256 of nothing: the manifestHash of the empty version. */
const EMPTY_MANIFEST = createHash('sha256').digest('hex');

/** One answer for every link this server does not know, whatever the space: no hint of what exists. */
const unknownLink = () => new DreamLakeError('not_found', 'no such share link');
const outside = (what: string) => new DreamLakeError('not_found', `${what} is not part of this share link`);

/** A link that works now, and the version it serves at this use. */
export interface OpenShare {
  share: StoredShare;
  version: number;
}

/**
 * The link a secret opens, counted against its rate limit: 404 for anything that is not a live
 * link's secret (malformed, truncated, forged), 410 `gone` for a revoked or expired one, for one
 * whose creator can no longer read the space, and for a pinned version the retention dropped.
 * The version is the pinned one, or head now.
 */
export async function openShare(ctx: ServerContext, secret: string): Promise<OpenShare> {
  if (!isShareSecret(secret)) throw unknownLink();
  const share = await findShareBySecretHash(ctx.db, hashShareSecret(secret));
  if (!share) throw unknownLink();
  const nowMs = ctx.clock();
  if (share.revokedAt !== null) throw new DreamLakeError('gone', 'this share link was revoked');
  if (Date.parse(share.expiresAt) <= nowMs)
    throw new DreamLakeError('gone', `this share link expired at ${share.expiresAt}`);
  const creator = await findNamespaceAccess(ctx.db, share.namespace, share.createdBy);
  if (!creator || !atLeast(creator.role, 'reader'))
    throw new DreamLakeError('gone', 'whoever made this share link may no longer read what it names');
  const now = new Date(nowMs).toISOString();
  const window = await countShareRequest(ctx.db, share.id, now, new Date(nowMs - WINDOW_MS).toISOString());
  if (window.count > SHARE_REQUESTS_PER_MINUTE) {
    const wait = Math.max(1, Math.ceil((Date.parse(window.startedAt) + WINDOW_MS - nowMs) / 1000));
    throw new RateLimitedError(wait, `this share link was used too often; try again in ${wait} s`);
  }
  if (share.version === null) return { share, version: share.headVersion };
  await requireKept(ctx, share.spaceId, share.version);
  return { share, version: share.version };
}

/** 410 `gone` for a pinned version the retention dropped. */
async function requireKept(ctx: ServerContext, spaceId: string, version: number): Promise<void> {
  const snapshot = await findSnapshot(ctx.db, spaceId, version);
  if (!snapshot || snapshot.dropped_at)
    throw new DreamLakeError('gone', `version ${version}, which this link names, was dropped by the retention`);
}

/**
 * What `read` reads of the link's version, checked again after it for a pinned one: the retention
 * removes a version's entries and marks it dropped in one transaction, so a read that missed some
 * entries is followed by a check that sees the mark (410, never a part of the version).
 */
async function readShared<T>(ctx: ServerContext, open: OpenShare, read: () => Promise<T>): Promise<T> {
  const result = await read();
  if (open.share.version !== null) await requireKept(ctx, open.share.spaceId, open.share.version);
  return result;
}

/** 404 unless an asked version is the one the link serves now. */
function checkVersion(open: OpenShare, asked: number | undefined): void {
  if (asked !== undefined && asked !== open.version) throw outside(`version ${asked}`);
}

const underPrefix = (share: StoredShare, name: string) => name.startsWith(shareFolder(share.prefix));

/** Logs and counts a use: the files it handed out URLs for (none for a listing or a page). */
export function logShareUse(ctx: ServerContext, open: OpenShare, ip: string, files: readonly string[] = []) {
  return recordShareUse(ctx.db, { shareId: open.share.id, files, client: clientOf(ip), nowMs: ctx.clock() });
}

export async function shareInfo(ctx: ServerContext, open: OpenShare): Promise<ShareInfo> {
  const { share, version } = open;
  const manifestHash = version === 0 ? EMPTY_MANIFEST : await ensureManifestHash(ctx.db, share.spaceId, version);
  return {
    namespace: share.namespace,
    space: share.space,
    version,
    pinned: share.version !== null,
    prefix: shareFolder(share.prefix),
    manifestHash,
    expiresAt: share.expiresAt,
  };
}

const sharedFile = (f: StoredFile): SharedFile => ({
  name: f.name,
  size: f.size,
  hash: f.hash,
  type: f.type,
  contentType: f.contentType,
});

export const shareListQuery = z.object({
  limit: pageLimit('files'),
  cursor: nameCursor,
  prefix: sharePrefixSchema.optional().describe('only names under this, itself under the link’s prefix'),
  version: versionSchema.optional().describe('the version the link serves (404 for any other)'),
});

/** One page of the files a link names, in name order, with the cursor of the next when there is one. */
export async function shareFilesPage(
  ctx: ServerContext,
  open: OpenShare,
  query: unknown,
): Promise<{ files: SharedFile[]; next?: string }> {
  const { limit, cursor, prefix, version } = parseOrThrow(shareListQuery, query, 'query');
  checkVersion(open, version);
  const folder = shareFolder(open.share.prefix);
  if (prefix !== undefined && !prefix.startsWith(folder)) throw outside(`prefix "${prefix}"`);
  const request = { after: cursor, prefix: prefix ?? folder, limit: limit ?? LIST_DEFAULT_LIMIT };
  const { share } = open;
  const page = await readShared(ctx, open, () =>
    share.version === null
      ? listFilesPage(ctx.db, share.spaceId, request)
      : listVersionFilesPage(ctx.db, share.spaceId, open.version, request),
  );
  const files = page.files.map(sharedFile);
  const last = files.at(-1);
  return page.more && last ? { files, next: cursorAfter(last.name) } : { files };
}

/** A URL handed out through a link: the signed BSS URL and what the file is. */
export interface ShareGrant extends SharedFile {
  index: number;
  url: string;
  expiresAt: string;
}

/** The files of a link by name, at the version it serves. */
async function findShared(ctx: ServerContext, open: OpenShare, names: readonly string[]) {
  const { share } = open;
  const inside = names.filter((name) => underPrefix(share, name));
  return readShared(ctx, open, () =>
    share.version === null
      ? findFilesByNames(ctx.db, share.spaceId, inside)
      : findVersionFilesByNames(ctx.db, share.spaceId, open.version, inside),
  );
}

/** A signed BSS URL for one blob of the link's space, never outliving the link itself. */
function signedUrl(ctx: ServerContext, open: OpenShare, hash: string) {
  const nowMs = ctx.clock();
  const untilExpiry = Math.floor((Date.parse(open.share.expiresAt) - nowMs) / 1000);
  const ttl = Math.max(1, Math.min(ctx.config.presignTtlSeconds, untilExpiry));
  const signing = { presignSecrets: ctx.config.presignSecrets, presignTtlSeconds: ttl };
  const blob = { owner: open.share.namespace, project: open.share.space, hash };
  return blobUrl(signing, ctx.config.bssPublicUrl, 'download', blob, nowMs);
}

export const shareGrantBody = z.object({
  version: versionField.optional().describe('the version the link serves (404 for any other)'),
  files: z.array(z.strictObject({ name: fileNameSchema })).min(1),
});

/**
 * Signed BSS download URLs, minted now, for up to BATCH_MAX_FILES files the link names; a name
 * outside it (another prefix, or not in the version it serves) answers its own 404.
 */
export async function shareGrants(
  ctx: ServerContext,
  open: OpenShare,
  body: unknown,
): Promise<{ files: Array<ShareGrant | EntryError> }> {
  const input = parseBatch({ version: versionField.optional() }, body, BATCH_MAX_FILES);
  checkVersion(open, input.version);
  const answers: Array<ShareGrant | EntryError> = new Array(input.files.length);
  const valid: Array<{ index: number; name: string }> = [];
  input.files.forEach((raw, index) => {
    const entry = parseEntry(z.strictObject({ name: fileNameSchema }), raw, index);
    if (entry.ok) valid.push({ index, name: entry.value.name });
    else answers[index] = entry.error;
  });
  const found = await findShared(
    ctx,
    open,
    valid.map((v) => v.name),
  );
  for (const { index, name } of valid) {
    const file = found.get(name);
    if (!file) {
      answers[index] = entryError(index, outside(`"${name}"`));
      continue;
    }
    answers[index] = { index, ...sharedFile(file), ...signedUrl(ctx, open, file.hash) };
  }
  return { files: answers };
}

export const shareDownloadQuery = z.object({
  name: fileNameSchema,
  version: versionSchema.optional().describe('the version the link serves (404 for any other)'),
});

/** One file's signed BSS URL, minted now (the page's download buttons are redirected to it). */
export async function shareGrant(ctx: ServerContext, open: OpenShare, query: unknown): Promise<ShareGrant> {
  const { name, version } = parseOrThrow(shareDownloadQuery, query, 'query');
  checkVersion(open, version);
  const file = (await findShared(ctx, open, [name])).get(name);
  if (!file) throw outside(`"${name}"`);
  return { index: 0, ...sharedFile(file), ...signedUrl(ctx, open, file.hash) };
}

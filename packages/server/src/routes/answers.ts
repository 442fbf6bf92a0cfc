import type { DownloadGrant, IndexedFile, LookupState, Me, Space } from '@dreamlake/protocol';
import { z } from 'zod';
import { SCOPES } from '../auth/scopes.ts';
import { assetTypeSchema, fileNameSchema, hashSchema, nameSchema, roleSchema } from '../names.ts';
import { versionField } from '../services/versions.ts';

/**
 * Shapes for the OpenAPI document: the answers the server sends, given in each route's doc.
 * Request bodies and path parameters are the very schemas the handlers validate with, from their
 * route or service files.
 */

/** A batch request's body: `{ files: [entry, …] }`, at least one. */
export const batchOf = (entry: z.ZodType) => z.object({ files: z.array(entry).min(1) });

const iso = z.string().describe('ISO 8601 time');

export const session = z.object({ token: z.string(), expiresAt: iso });
export const me = z.object({
  username: z.string(),
  namespaces: z.array(z.looseObject({ name: z.string(), kind: z.string(), role: roleSchema })),
}) satisfies z.ZodType<Me>;
export const tokenView = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  createdAt: iso,
  expiresAt: iso.nullable(),
});
export const createdToken = tokenView.extend({ token: z.string().describe('shown once: dlk_…') });
export const spaceView = z.object({
  namespace: z.string(),
  name: z.string(),
  createdAt: iso,
}) satisfies z.ZodType<Space>;
export const memberView = z.object({ username: z.string(), role: roleSchema });
export const fileView = z.object({
  namespace: z.string(),
  space: z.string(),
  name: z.string(),
  type: assetTypeSchema,
  size: z.number().int(),
  contentType: z.string(),
  hash: hashSchema,
  uploadedBy: z.string(),
  createdAt: iso,
}) satisfies z.ZodType<IndexedFile>;
const uploadUrls = {
  initUrl: z.url(),
  partsUrl: z.url(),
  partsDoneUrl: z.url(),
  completeUrl: z.url(),
  abortUrl: z.url(),
  expiresAt: iso,
};
export const entryError = z.object({
  index: z.number().int(),
  error: z.looseObject({ code: z.string(), message: z.string() }),
});
export const uploadGrant = z.union([z.object(uploadUrls), z.object({ exists: z.literal(true), file: fileView })]);
export const batchGrantAnswer = z.object({
  files: z.array(
    z.union([
      z.object({ index: z.number().int(), ...uploadUrls, singleUrl: z.url().optional() }),
      z.object({ index: z.number().int(), exists: z.literal(true), file: fileView }),
      entryError,
    ]),
  ),
});
export const batchRegisterAnswer = z.object({
  files: z.array(z.union([z.object({ index: z.number().int(), file: fileView, created: z.boolean() }), entryError])),
});
export const lookupAnswer = z.object({
  files: z.array(z.enum(['indexed', 'held', 'missing']) satisfies z.ZodType<LookupState>),
});
export const downloadAnswer = z.object({
  url: z.url(),
  name: z.string(),
  hash: hashSchema,
  size: z.number().int(),
  contentType: z.string(),
  expiresAt: iso,
}) satisfies z.ZodType<DownloadGrant>;
export const health = z.object({ ok: z.literal(true) });
export const downloadBatchBody = z.object({
  namespace: nameSchema,
  space: nameSchema,
  version: versionField.optional(),
  files: z.array(z.object({ name: fileNameSchema })).min(1),
});
export const downloadBatchAnswer = z.object({
  files: z.array(z.union([downloadAnswer.extend({ index: z.number().int() }), entryError])),
});
export const assetParams = z.object({ name: z.string() });
export const webConfig = z.object({ allowSignup: z.boolean(), bssOrigin: z.url() });
export const snapshotView = z.object({
  namespace: z.string(),
  space: z.string(),
  version: z.number().int(),
  parent: z.number().int().nullable(),
  author: z.string(),
  message: z.string(),
  createdAt: iso,
  counts: z.object({ added: z.number().int(), changed: z.number().int(), removed: z.number().int() }),
  files: z.number().int(),
  bytes: z.number().int(),
  manifestHash: hashSchema.optional().describe('SHA-256 of the canonical manifest (docs/protocol.md, Versions)'),
});
export const snapshotReceipt = z.object({
  alg: z.literal('Ed25519'),
  keyId: z.string().describe('first 16 hex digits of the SHA-256 of the raw public key'),
  signed: z.string().describe('the exact JSON text signed'),
  signature: z.string().describe('base64url of the 64-byte Ed25519 signature'),
});
const diffSide = z.object({ hash: hashSchema, size: z.number().int(), type: assetTypeSchema, contentType: z.string() });
export const diffAnswer = z.object({
  from: z.number().int(),
  to: z.number().int(),
  changes: z.array(
    z.object({
      name: z.string(),
      change: z.enum(['added', 'changed', 'removed']),
      before: diffSide.optional().describe('the entry at `from`'),
      after: diffSide.optional().describe('the entry at `to`'),
    }),
  ),
  next: z.string().optional().describe('the cursor of the next page; absent on the last'),
});
export const snapshotKeys = z.object({
  keys: z.array(
    z.object({
      kid: z.string(),
      kty: z.literal('OKP'),
      crv: z.literal('Ed25519'),
      x: z.string().describe('base64url of the raw 32-byte public key'),
      alg: z.literal('EdDSA'),
      use: z.literal('sig'),
    }),
  ),
});
export const commitAnswer = z.object({
  created: z.boolean().describe('false: nothing changed, `snapshot` is head (null while the space has none)'),
  snapshot: snapshotView.nullable(),
});
export const draftView = z.object({
  id: z.string(),
  parent: z.number().int().nullable(),
  expiresAt: iso.describe('DRAFT_TTL_SECONDS after its last batch'),
});
export const draftEntries = z.object({ entries: z.number().int().describe('the entries the draft holds') });

const sharedFile = z.object({
  name: z.string(),
  size: z.number().int(),
  hash: hashSchema,
  type: assetTypeSchema,
  contentType: z.string(),
});
const shareFields = {
  namespace: z.string(),
  space: z.string(),
  version: z.number().int().nullable().describe('the pinned version; null: head at each use'),
  prefix: z.string(),
  createdAt: iso,
  expiresAt: iso,
};
export const createdShare = z.object({
  id: z.string(),
  secret: z.string().describe('shown once: dls_…'),
  path: z.string().describe('the link on this server: /s/ and the secret'),
  ...shareFields,
});
export const listedShare = z.object({
  id: z.string(),
  ...shareFields,
  createdBy: z.string(),
  uses: z.number().int().describe('requests answered through the link'),
  downloads: z.number().int().describe('files it handed out download URLs for'),
  lastUsedAt: iso.nullable(),
  expired: z.boolean(),
});
export const shareInfo = z.object({
  namespace: z.string(),
  space: z.string(),
  version: z.number().int().describe('the version served: the pinned one, or head now'),
  pinned: z.boolean(),
  prefix: z.string(),
  manifestHash: hashSchema.describe('of the whole version'),
  expiresAt: iso,
});
export const shareFilesAnswer = z.object({
  files: sharedFile.array(),
  next: z.string().optional().describe('the cursor of the next page; absent on the last'),
});
export const shareGrantsAnswer = z.object({
  files: z.array(z.union([sharedFile.extend({ index: z.number().int(), url: z.url(), expiresAt: iso }), entryError])),
});

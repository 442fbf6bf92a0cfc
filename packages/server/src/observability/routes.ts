import type { RawContent, RouteDoc, RouteTable } from '@dreamlake/service';
import { z } from 'zod';
import { draftParams } from '../routes/commits.ts';
import { sharePageQuery } from '../routes/share-page.ts';
import { shareSecretParams } from '../routes/shares.ts';
import { commitBody } from '../services/commits.ts';
import { diffQuery } from '../services/diff.ts';
import { draftBody, draftChangesBody, draftCommitBody } from '../services/drafts.ts';
import { downloadQuery } from '../services/file-download.ts';
import { registerFileBody } from '../services/file-index.ts';
import { listQuery } from '../services/file-list.ts';
import { restoreBody } from '../services/restore.ts';
import { shareDownloadQuery, shareGrantBody, shareListQuery } from '../services/share-use.ts';
import { createShareBody, listSharesQuery, shareIdParams } from '../services/shares.ts';
import { snapshotParams, snapshotsQuery } from '../services/snapshot-read.ts';
import { batchGrantEntry } from '../services/upload-batch.ts';
import { uploadInitBody } from '../services/upload-init.ts';
import * as s from './answers.ts';

/**
 * Every route of the server as the OpenAPI document (`/openapi.json`) describes it, by
 * `METHOD /url` exactly as registered. A route missing here is left out of the document and fails
 * the test that compares the two: describe a new route by adding its line.
 */

const signedIn = (doc: Omit<RouteDoc, 'auth' | 'errors'> & { errors?: RouteDoc['errors'] }): RouteDoc => ({
  ...doc,
  auth: 'bearer',
  errors: ['invalid_request', 'unauthorized', 'forbidden', 'rate_limited', ...(doc.errors ?? [])],
});
const open = (doc: Omit<RouteDoc, 'auth'>): RouteDoc => ({ ...doc, auth: 'none' });
const page = (summary: string, mediaType = 'text/html'): RouteDoc =>
  open({ summary, tags: ['web'], responses: { 200: { mediaType, description: summary } }, errors: ['not_found'] });

const metricsText: RawContent = { mediaType: 'text/plain', description: 'Prometheus text exposition format 0.0.4' };

export const SERVER_ROUTES: RouteTable = {
  'GET /healthz': open({ summary: 'Alive: the process answers', tags: ['operations'], responses: { 200: s.health } }),
  'GET /readyz': open({
    summary: 'Ready: the database answers (503 unavailable when not, or when draining)',
    tags: ['operations'],
    responses: { 200: s.readiness },
    errors: ['unavailable'],
  }),
  'GET /metrics': {
    summary: 'Prometheus metrics of this process',
    tags: ['operations'],
    auth: 'metricsToken',
    responses: { 200: metricsText },
    errors: ['unauthorized', 'forbidden'],
  },
  'GET /openapi.json': open({ summary: 'This document', tags: ['operations'], responses: { 200: 'OpenAPI 3.1 JSON' } }),

  'POST /auth/signup': open({
    summary: 'Create an account and a session (when sign-up is allowed)',
    tags: ['auth'],
    body: s.signupBody,
    responses: { 201: s.session.pick({ token: true }) },
    errors: ['invalid_request', 'forbidden', 'conflict', 'rate_limited'],
  }),
  'POST /auth/login': open({
    summary: 'Exchange a name and password for a session JWT',
    tags: ['auth'],
    body: s.loginBody,
    responses: { 200: s.session },
    errors: ['invalid_request', 'unauthorized', 'rate_limited'],
  }),
  'POST /auth/password': signedIn({
    summary: 'Change your own password (ends other sessions unless keepTokens)',
    tags: ['auth'],
    body: s.passwordBody,
    responses: { 200: s.session },
  }),
  'POST /auth/logout': signedIn({
    summary: 'End your login sessions (a JWT: all of them) or revoke the access token you call with',
    tags: ['auth'],
    responses: { 204: 'logged out' },
  }),
  'GET /auth/me': signedIn({ summary: 'Who you are and your namespaces', tags: ['auth'], responses: { 200: s.me } }),
  'POST /auth/tokens': signedIn({
    summary: 'Create a personal access token (shown once)',
    tags: ['tokens'],
    body: s.tokenBody,
    responses: { 201: s.createdToken },
  }),
  'GET /auth/tokens': signedIn({
    summary: 'Your personal access tokens',
    tags: ['tokens'],
    responses: { 200: z.object({ tokens: s.tokenView.array() }) },
  }),
  'DELETE /auth/tokens/:id': signedIn({
    summary: 'Revoke a personal access token',
    tags: ['tokens'],
    params: s.tokenParams,
    responses: { 204: 'revoked' },
    errors: ['not_found'],
  }),

  'POST /orgs': signedIn({
    summary: 'Create an organisation you own',
    tags: ['orgs'],
    body: s.nameBody,
    responses: { 201: s.nameBody },
    errors: ['conflict'],
  }),
  'GET /orgs/:org/members': signedIn({
    summary: "An organisation's members",
    tags: ['orgs'],
    params: s.orgParams,
    responses: { 200: z.object({ members: s.memberView.array() }) },
    errors: ['not_found'],
  }),
  'PUT /orgs/:org/members/:username': signedIn({
    summary: 'Add a member or change their role',
    tags: ['orgs'],
    params: s.memberParams,
    body: s.roleBody,
    responses: { 200: s.memberView },
    errors: ['not_found', 'conflict'],
  }),
  'DELETE /orgs/:org/members/:username': signedIn({
    summary: 'Remove a member',
    tags: ['orgs'],
    params: s.memberParams,
    responses: { 204: 'removed' },
    errors: ['not_found', 'conflict'],
  }),

  'POST /namespaces/:ns/spaces': signedIn({
    summary: 'Create a space',
    tags: ['spaces'],
    params: s.nsParams,
    body: s.nameBody,
    responses: { 201: s.spaceView },
    errors: ['not_found', 'conflict'],
  }),
  'GET /namespaces/:ns/spaces': signedIn({
    summary: "A namespace's spaces",
    tags: ['spaces'],
    params: s.nsParams,
    responses: { 200: z.object({ spaces: s.spaceView.array() }) },
    errors: ['not_found'],
  }),

  'POST /uploads/init': signedIn({
    summary: 'Upload grant for one file: five signed BSS URLs, or exists when the space already holds it',
    tags: ['uploads'],
    body: uploadInitBody,
    responses: { 200: s.uploadGrant },
    errors: ['not_found', 'too_large'],
  }),
  'POST /uploads/batch': signedIn({
    summary: 'Upload grants for up to 1,000 files of one space, each answered on its own',
    tags: ['uploads'],
    body: uploadInitBody.pick({ namespace: true, space: true }).extend(s.batchOf(batchGrantEntry).shape),
    responses: { 200: s.batchGrantAnswer },
    errors: ['not_found', 'too_large'],
  }),

  'POST /namespaces/:ns/spaces/:space/files': signedIn({
    summary: 'Register a verified blob under a file name (201 created, 200 already so)',
    tags: ['files'],
    params: s.spaceParams,
    body: registerFileBody,
    responses: { 200: z.object({ file: s.fileView }), 201: z.object({ file: s.fileView }) },
    errors: ['not_found', 'conflict', 'too_large', 'hash_mismatch', 'storage_unavailable'],
  }),
  'POST /namespaces/:ns/spaces/:space/files/lookup': signedIn({
    summary: 'Which of up to 10,000 name and hash pairs the space indexes or holds',
    tags: ['files'],
    params: s.spaceParams,
    body: s.batchOf(s.lookupEntry),
    responses: { 200: s.lookupAnswer },
    errors: ['not_found', 'too_large'],
  }),
  'POST /namespaces/:ns/spaces/:space/files/batch': signedIn({
    summary: 'Register up to 1,000 verified blobs, each answered on its own',
    tags: ['files'],
    params: s.spaceParams,
    body: s.batchOf(registerFileBody),
    responses: { 200: s.batchRegisterAnswer },
    errors: ['not_found', 'too_large'],
  }),
  'GET /namespaces/:ns/spaces/:space/files': signedIn({
    summary: "A space's files, a page at a time in name order (follow `next` until it is absent)",
    tags: ['files'],
    params: s.spaceParams,
    query: listQuery,
    responses: {
      200: z.object({
        files: s.fileView.array(),
        next: z.string().optional().describe('the cursor of the next page; absent on the last'),
      }),
    },
    errors: ['not_found'],
  }),
  'GET /namespaces/:ns/spaces/:space/files/download': signedIn({
    summary: 'A signed BSS download URL for one file',
    tags: ['files'],
    params: s.spaceParams,
    query: downloadQuery,
    responses: { 200: s.downloadAnswer },
    errors: ['not_found'],
  }),
  'POST /namespaces/:ns/spaces/:space/commits': signedIn({
    summary: 'Apply up to 1,000 puts and deletes as one new version (201), or answer head when nothing changes (200)',
    tags: ['versions'],
    params: s.spaceParams,
    body: commitBody,
    responses: { 200: s.commitAnswer, 201: s.commitAnswer },
    errors: ['not_found', 'conflict', 'too_large', 'storage_unavailable'],
  }),
  'POST /namespaces/:ns/spaces/:space/drafts': signedIn({
    summary: 'Open a draft: a commit built in batches',
    tags: ['versions'],
    params: s.spaceParams,
    body: draftBody,
    responses: { 201: s.draftView },
    errors: ['not_found'],
  }),
  'POST /namespaces/:ns/spaces/:space/drafts/:id/entries': signedIn({
    summary: 'Add up to 1,000 changes to a draft (a name given again replaces its entry)',
    tags: ['versions'],
    params: draftParams,
    body: draftChangesBody,
    responses: { 200: s.draftEntries },
    errors: ['not_found', 'conflict', 'too_large', 'storage_unavailable'],
  }),
  'POST /namespaces/:ns/spaces/:space/drafts/:id/commit': signedIn({
    summary: "Commit a draft as one new version, against the draft's parent",
    tags: ['versions'],
    params: draftParams,
    body: draftCommitBody,
    responses: { 200: s.commitAnswer, 201: s.commitAnswer },
    errors: ['not_found', 'conflict', 'too_large', 'storage_unavailable'],
  }),
  'DELETE /namespaces/:ns/spaces/:space/drafts/:id': signedIn({
    summary: 'Drop a draft',
    tags: ['versions'],
    params: draftParams,
    responses: { 204: 'dropped' },
    errors: ['not_found'],
  }),
  'POST /namespaces/:ns/spaces/:space/restore': signedIn({
    summary: 'Make a new version equal to an earlier one',
    tags: ['versions'],
    params: s.spaceParams,
    body: restoreBody,
    responses: { 200: s.commitAnswer, 201: s.commitAnswer },
    errors: ['not_found', 'conflict'],
  }),
  'GET /namespaces/:ns/spaces/:space/snapshots': signedIn({
    summary: "A space's snapshots, newest first, a page at a time (follow `next` until it is absent)",
    tags: ['versions'],
    params: s.spaceParams,
    query: snapshotsQuery,
    responses: {
      200: z.object({
        snapshots: s.snapshotView.array(),
        next: z.string().optional().describe('the cursor of the next (older) page; absent on the last'),
      }),
    },
    errors: ['not_found'],
  }),
  'GET /namespaces/:ns/spaces/:space/snapshots/:version': signedIn({
    summary: 'One snapshot with its manifestHash, and the server-signed receipt of it',
    tags: ['versions'],
    params: s.spaceParams.extend(snapshotParams.shape),
    responses: { 200: z.object({ snapshot: s.snapshotView, receipt: s.snapshotReceipt }) },
    errors: ['not_found'],
  }),
  'GET /namespaces/:ns/spaces/:space/diff': signedIn({
    summary: 'The names that differ from one version to another, in name order, a page at a time',
    tags: ['versions'],
    params: s.spaceParams,
    query: diffQuery,
    responses: { 200: s.diffAnswer },
    errors: ['not_found'],
  }),
  'GET /.well-known/dreamlake-snapshot-keys.json': open({
    summary: 'The public keys (JWK) snapshot receipts are signed with',
    tags: ['versions'],
    responses: { 200: s.snapshotKeys },
  }),
  'POST /downloads/batch': signedIn({
    summary: 'Signed BSS download URLs for up to 1,000 files of one space, each answered on its own',
    tags: ['files'],
    body: s.downloadBatchBody,
    responses: { 200: s.downloadBatchAnswer },
    errors: ['not_found', 'too_large'],
  }),

  'POST /shares': signedIn({
    summary: 'Make a share link to a space (at a version, or head at each use), or the names under a prefix of it',
    tags: ['shares'],
    body: createShareBody,
    responses: { 201: s.createdShare },
    errors: ['not_found'],
  }),
  'GET /shares': signedIn({
    summary: 'The unrevoked share links of the namespaces where you may share, with their use counts',
    tags: ['shares'],
    query: listSharesQuery,
    responses: { 200: z.object({ shares: s.listedShare.array() }) },
  }),
  'DELETE /shares/:id': signedIn({
    summary: 'Revoke a share link: it stops handing out download URLs at once',
    tags: ['shares'],
    params: shareIdParams,
    responses: { 204: 'revoked' },
    errors: ['not_found'],
  }),
  'GET /s/:secret': open({
    summary: 'A share link’s read-only page: its files, their sizes and SHA-256, a download button each',
    tags: ['shares'],
    params: shareSecretParams,
    query: sharePageQuery,
    responses: { 200: { mediaType: 'text/html', description: 'the page' } },
    errors: ['not_found', 'gone', 'rate_limited'],
  }),
  'GET /s/:secret/info': open({
    summary: 'What a share link names: namespace, space, the version it serves and its manifestHash, expiry',
    tags: ['shares'],
    params: shareSecretParams,
    responses: { 200: s.shareInfo },
    errors: ['not_found', 'gone', 'rate_limited'],
  }),
  'GET /s/:secret/files': open({
    summary: 'The files a share link names, a page at a time in name order',
    tags: ['shares'],
    params: shareSecretParams,
    query: shareListQuery,
    responses: { 200: s.shareFilesAnswer },
    errors: ['invalid_request', 'not_found', 'gone', 'rate_limited'],
  }),
  'POST /s/:secret/downloads': open({
    summary: 'Signed BSS download URLs, minted now, for up to 1,000 files a share link names',
    tags: ['shares'],
    params: shareSecretParams,
    body: shareGrantBody,
    responses: { 200: s.shareGrantsAnswer },
    errors: ['invalid_request', 'not_found', 'gone', 'too_large', 'rate_limited'],
  }),
  'GET /s/:secret/download': open({
    summary: 'A redirect to a signed BSS download URL, minted now, for one file a share link names',
    tags: ['shares'],
    params: shareSecretParams,
    query: shareDownloadQuery,
    responses: { 302: 'to the signed BSS URL' },
    errors: ['invalid_request', 'not_found', 'gone', 'rate_limited'],
  }),

  'GET /': page('The web uploader'),
  'GET /assets/:name': { ...page('A script, style sheet or source map of the web uploader'), params: s.assetParams },
  'GET /web/config.json': open({
    summary: 'What the web page needs to know',
    tags: ['web'],
    responses: { 200: s.webConfig },
  }),
};

/** For routes of the web page that are plain files: `'GET /': page('The web uploader')`. */
export { page };

import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { BATCH_MAX_BODY_BYTES } from '../limits.ts';
import {
  logShareUse,
  openShare,
  shareDownloadQuery,
  shareFilesPage,
  shareGrant,
  shareGrantBody,
  shareGrants,
  shareInfo,
  shareListQuery,
} from '../services/share-use.ts';
import {
  createShare,
  createShareBody,
  listSharesQuery,
  listUserShares,
  revokeUserShare,
  shareIdParams,
} from '../services/shares.ts';
import * as answers from './answers.ts';
import { bodyLimit } from './body-limit.ts';
import { open, signedIn } from './route-docs.ts';

/** A link's secret in its URL (anything not of a secret's form is answered as an unknown link). */
export const shareSecretParams = z.object({ secret: z.string().max(200).describe('the link’s secret: dls_…') });

/**
 * Share links. Made, listed and revoked by writers of a namespace (a token needs the `share`
 * scope to make or revoke one); used by whoever holds one, with no account: what it names, its
 * files a page at a time, and download URLs minted at each use.
 */
export function shareRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const createDoc = signedIn({
    summary: 'Make a share link to a space (at a version, or head at each use), or the names under a prefix of it',
    tags: ['shares'],
    body: createShareBody,
    responses: { 201: answers.createdShare },
    errors: ['not_found'],
  });
  app.post('/shares', { onRequest: ctx.authenticate, config: { doc: createDoc } }, async (request, reply) => {
    return reply.code(201).send(await createShare(ctx, caller(request), request.body));
  });

  const listDoc = signedIn({
    summary: 'The unrevoked share links of the namespaces where you may share, with their use counts',
    tags: ['shares'],
    query: listSharesQuery,
    responses: { 200: z.object({ shares: answers.listedShare.array() }) },
  });
  app.get('/shares', { onRequest: ctx.authenticate, config: { doc: listDoc } }, async (request) => {
    return listUserShares(ctx, caller(request), request.query);
  });

  const revokeDoc = signedIn({
    summary: 'Revoke a share link: it stops handing out download URLs at once',
    tags: ['shares'],
    params: shareIdParams,
    responses: { 204: 'revoked' },
    errors: ['not_found'],
  });
  app.delete('/shares/:id', { onRequest: ctx.authenticate, config: { doc: revokeDoc } }, async (request, reply) => {
    await revokeUserShare(ctx, caller(request), request.params);
    return reply.code(204).send();
  });

  const openLink = (params: unknown) => openShare(ctx, parseOrThrow(shareSecretParams, params, 'path').secret);
  const noStore = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };

  const infoDoc = open({
    summary: 'What a share link names: namespace, space, the version it serves and its manifestHash, expiry',
    tags: ['shares'],
    params: shareSecretParams,
    responses: { 200: answers.shareInfo },
    errors: ['not_found', 'gone', 'rate_limited'],
  });
  app.get('/s/:secret/info', { config: { doc: infoDoc } }, async (request, reply) => {
    const link = await openLink(request.params);
    const info = await shareInfo(ctx, link);
    await logShareUse(ctx, link, request.ip);
    return reply.headers(noStore).send(info);
  });

  const filesDoc = open({
    summary: 'The files a share link names, a page at a time in name order',
    tags: ['shares'],
    params: shareSecretParams,
    query: shareListQuery,
    responses: { 200: answers.shareFilesAnswer },
    errors: ['invalid_request', 'not_found', 'gone', 'rate_limited'],
  });
  app.get('/s/:secret/files', { config: { doc: filesDoc } }, async (request, reply) => {
    const link = await openLink(request.params);
    const page = await shareFilesPage(ctx, link, request.query);
    await logShareUse(ctx, link, request.ip);
    return reply.headers(noStore).send(page);
  });

  const grantsDoc = open({
    summary: 'Signed BSS download URLs, minted now, for up to 1,000 files a share link names',
    tags: ['shares'],
    params: shareSecretParams,
    body: shareGrantBody,
    responses: { 200: answers.shareGrantsAnswer },
    errors: ['invalid_request', 'not_found', 'gone', 'too_large', 'rate_limited'],
  });
  const grantsOptions = { ...bodyLimit(BATCH_MAX_BODY_BYTES), config: { doc: grantsDoc } };
  app.post('/s/:secret/downloads', grantsOptions, async (request, reply) => {
    const link = await openLink(request.params);
    const answer = await shareGrants(ctx, link, request.body);
    const granted = answer.files.flatMap((f) => ('url' in f ? [f.name] : []));
    await logShareUse(ctx, link, request.ip, granted);
    return reply.headers(noStore).send(answer);
  });

  const downloadDoc = open({
    summary: 'A redirect to a signed BSS download URL, minted now, for one file a share link names',
    tags: ['shares'],
    params: shareSecretParams,
    query: shareDownloadQuery,
    responses: { 302: 'to the signed BSS URL' },
    errors: ['invalid_request', 'not_found', 'gone', 'rate_limited'],
  });
  app.get('/s/:secret/download', { config: { doc: downloadDoc } }, async (request, reply) => {
    const link = await openLink(request.params);
    const grant = await shareGrant(ctx, link, request.query);
    await logShareUse(ctx, link, request.ip, [grant.name]);
    return reply.headers(noStore).redirect(grant.url, 302);
  });
}

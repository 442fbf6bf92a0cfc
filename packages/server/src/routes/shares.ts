import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { BATCH_MAX_BODY_BYTES } from '../limits.ts';
import { logShareUse, openShare, shareFilesPage, shareGrant, shareGrants, shareInfo } from '../services/share-use.ts';
import { createShare, listUserShares, revokeUserShare } from '../services/shares.ts';
import { bodyLimit } from './body-limit.ts';

/** A link's secret in its URL (anything not of a secret's form is answered as an unknown link). */
export const shareSecretParams = z.object({ secret: z.string().max(200).describe('the link’s secret: dls_…') });

/**
 * Share links. Made, listed and revoked by writers of a namespace (a token needs the `share`
 * scope to make or revoke one); used by whoever holds one, with no account: what it names, its
 * files a page at a time, and download URLs minted at each use.
 */
export function shareRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/shares', { onRequest: ctx.authenticate }, async (request, reply) => {
    return reply.code(201).send(await createShare(ctx, caller(request), request.body));
  });

  app.get('/shares', { onRequest: ctx.authenticate }, async (request) => {
    return listUserShares(ctx, caller(request), request.query);
  });

  app.delete('/shares/:id', { onRequest: ctx.authenticate }, async (request, reply) => {
    await revokeUserShare(ctx, caller(request), request.params);
    return reply.code(204).send();
  });

  const open = (params: unknown) => openShare(ctx, parseOrThrow(shareSecretParams, params, 'path').secret);
  const noStore = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };

  app.get('/s/:secret/info', async (request, reply) => {
    const link = await open(request.params);
    const info = await shareInfo(ctx, link);
    await logShareUse(ctx, link, request.ip);
    return reply.headers(noStore).send(info);
  });

  app.get('/s/:secret/files', async (request, reply) => {
    const link = await open(request.params);
    const page = await shareFilesPage(ctx, link, request.query);
    await logShareUse(ctx, link, request.ip);
    return reply.headers(noStore).send(page);
  });

  app.post('/s/:secret/downloads', bodyLimit(BATCH_MAX_BODY_BYTES), async (request, reply) => {
    const link = await open(request.params);
    const answer = await shareGrants(ctx, link, request.body);
    const granted = answer.files.flatMap((f) => ('url' in f ? [f.name] : []));
    await logShareUse(ctx, link, request.ip, granted);
    return reply.headers(noStore).send(answer);
  });

  app.get('/s/:secret/download', async (request, reply) => {
    const link = await open(request.params);
    const grant = await shareGrant(ctx, link, request.query);
    await logShareUse(ctx, link, request.ip, [grant.name]);
    return reply.headers(noStore).redirect(grant.url, 302);
  });
}

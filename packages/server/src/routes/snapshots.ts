import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { diffQuery, diffVersions } from '../services/diff.ts';
import { listSnapshots, signedSnapshot, snapshotParams, snapshotsQuery } from '../services/snapshot-read.ts';
import { snapshotSigner } from '../snapshot-keys.ts';
import { diffAnswer, snapshotKeys, snapshotReceipt, snapshotView } from './answers.ts';
import { spaceParams } from './files.ts';
import { open, signedIn } from './route-docs.ts';

/** The public keys of snapshot receipts, where a verifier finds them without a token. */
export const SNAPSHOT_KEYS_PATH = '/.well-known/dreamlake-snapshot-keys.json';

/** Reading a space's history: its snapshots, their signed receipts, diffs between versions. */
export function snapshotRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const where = (params: unknown) => {
    const { ns, space } = parseOrThrow(spaceParams, params, 'path');
    return { namespace: ns, space };
  };

  const listDoc = signedIn({
    summary: "A space's snapshots, newest first, a page at a time (follow `next` until it is absent)",
    tags: ['versions'],
    params: spaceParams,
    query: snapshotsQuery,
    responses: {
      200: z.object({
        snapshots: snapshotView.array(),
        next: z.string().optional().describe('the cursor of the next (older) page; absent on the last'),
      }),
    },
    errors: ['not_found'],
  });
  app.get(
    '/namespaces/:ns/spaces/:space/snapshots',
    { onRequest: ctx.authenticate, config: { doc: listDoc } },
    async (request) => {
      return listSnapshots(ctx, caller(request), where(request.params), request.query);
    },
  );

  const snapshotDoc = signedIn({
    summary: 'One snapshot with its manifestHash, and the server-signed receipt of it',
    tags: ['versions'],
    params: spaceParams.extend(snapshotParams.shape),
    responses: { 200: z.object({ snapshot: snapshotView, receipt: snapshotReceipt }) },
    errors: ['not_found'],
  });
  const snapshotOptions = { onRequest: ctx.authenticate, config: { doc: snapshotDoc } };
  app.get('/namespaces/:ns/spaces/:space/snapshots/:version', snapshotOptions, async (request) => {
    return signedSnapshot(ctx, caller(request), where(request.params), request.params);
  });

  const diffDoc = signedIn({
    summary: 'The names that differ from one version to another, in name order, a page at a time',
    tags: ['versions'],
    params: spaceParams,
    query: diffQuery,
    responses: { 200: diffAnswer },
    errors: ['not_found'],
  });
  app.get(
    '/namespaces/:ns/spaces/:space/diff',
    { onRequest: ctx.authenticate, config: { doc: diffDoc } },
    async (request) => {
      return diffVersions(ctx, caller(request), where(request.params), request.query);
    },
  );

  // Public keys, no credentials: any page may fetch them to verify a receipt.
  const keysDoc = open({
    summary: 'The public keys (JWK) snapshot receipts are signed with',
    tags: ['versions'],
    responses: { 200: snapshotKeys },
  });
  app.get(SNAPSHOT_KEYS_PATH, { config: { doc: keysDoc } }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    reply.header('access-control-allow-origin', '*');
    return { keys: snapshotSigner(ctx.config).keys };
  });
}

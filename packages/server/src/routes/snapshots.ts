import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { diffVersions } from '../services/diff.ts';
import { listSnapshots, signedSnapshot } from '../services/snapshot-read.ts';
import { snapshotSigner } from '../snapshot-keys.ts';
import { spaceParams } from './files.ts';

/** The public keys of snapshot receipts, where a verifier finds them without a token. */
export const SNAPSHOT_KEYS_PATH = '/.well-known/dreamlake-snapshot-keys.json';

/** Reading a space's history: its snapshots, their signed receipts, diffs between versions. */
export function snapshotRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const where = (params: unknown) => {
    const { ns, space } = parseOrThrow(spaceParams, params, 'path');
    return { namespace: ns, space };
  };

  app.get('/namespaces/:ns/spaces/:space/snapshots', { onRequest: ctx.authenticate }, async (request) => {
    return listSnapshots(ctx, caller(request), where(request.params), request.query);
  });

  app.get('/namespaces/:ns/spaces/:space/snapshots/:version', { onRequest: ctx.authenticate }, async (request) => {
    return signedSnapshot(ctx, caller(request), where(request.params), request.params);
  });

  app.get('/namespaces/:ns/spaces/:space/diff', { onRequest: ctx.authenticate }, async (request) => {
    return diffVersions(ctx, caller(request), where(request.params), request.query);
  });

  // Public keys, no credentials: any page may fetch them to verify a receipt.
  app.get(SNAPSHOT_KEYS_PATH, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    reply.header('access-control-allow-origin', '*');
    return { keys: snapshotSigner(ctx.config).keys };
  });
}

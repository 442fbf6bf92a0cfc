import { DreamLakeError } from '@dreamlake/presign';
import { probeDrain } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { ServerContext } from '../context.ts';
import { health, readiness } from './answers.ts';
import { open } from './route-docs.ts';

/**
 * `/healthz`: the process answers. `/readyz`: it can serve, its database answering, and it is not
 * draining (from SIGTERM on it answers 503, so a balancer sends elsewhere).
 */
export function healthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const healthDoc = open({ summary: 'Alive: the process answers', tags: ['operations'], responses: { 200: health } });
  app.get('/healthz', { config: { doc: healthDoc } }, async () => ({ ok: true }));

  const readyDoc = open({
    summary: 'Ready: the database answers (503 unavailable when not, or when draining)',
    tags: ['operations'],
    responses: { 200: readiness },
    errors: ['unavailable'],
  });
  app.get('/readyz', { config: { doc: readyDoc } }, async () => {
    if (probeDrain(app.server)) {
      throw new DreamLakeError('unavailable', 'shutting down: finishing the requests in flight', {
        checks: { accepting: 'failed' },
      });
    }
    try {
      await sql`select 1`.execute(ctx.db);
    } catch {
      throw new DreamLakeError('unavailable', 'database unreachable', { checks: { database: 'failed' } });
    }
    return { ok: true, checks: { database: 'ok' } };
  });
}

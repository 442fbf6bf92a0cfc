import { registerReadinessRoute } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { ServerContext } from '../context.ts';
import { health } from './answers.ts';
import { open } from './route-docs.ts';

/**
 * `/healthz`: the process answers. `/readyz`: it can serve, its database answering, and it is not
 * draining (from SIGTERM on it answers 503, so a balancer sends elsewhere).
 */
export function healthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const healthDoc = open({ summary: 'Alive: the process answers', tags: ['operations'], responses: { 200: health } });
  app.get('/healthz', { config: { doc: healthDoc } }, async () => ({ ok: true }));

  registerReadinessRoute(app, {
    async check() {
      try {
        await sql`select 1`.execute(ctx.db);
        return { database: 'ok' };
      } catch {
        return { database: 'failed' };
      }
    },
    code: 'unavailable',
    message: 'database unreachable',
    summary: 'Ready: the database answers (503 unavailable when not, or when draining)',
  });
}

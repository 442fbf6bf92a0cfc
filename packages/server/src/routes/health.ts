import { DreamLakeError } from '@dreamlake/presign';
import { probeDrain } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { ServerContext } from '../context.ts';

/**
 * `/healthz`: the process answers. `/readyz`: it can serve, its database answering, and it is not
 * draining (from SIGTERM on it answers 503, so a balancer sends elsewhere).
 */
export function healthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/healthz', async () => ({ ok: true }));

  app.get('/readyz', async () => {
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

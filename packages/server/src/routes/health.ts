import { DreamLakeError } from '@dreamlake/presign';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { ServerContext } from '../context.ts';

/** `/healthz`: the process answers. `/readyz`: it can serve, its database answering. */
export function healthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/healthz', async () => ({ ok: true }));

  app.get('/readyz', async () => {
    try {
      await sql`select 1`.execute(ctx.db);
    } catch {
      throw new DreamLakeError('storage_unavailable', 'database unreachable', { checks: { database: 'failed' } });
    }
    return { ok: true, checks: { database: 'ok' } };
  });
}

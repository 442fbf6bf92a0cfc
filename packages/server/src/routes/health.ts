import { DreamLakeError } from '@dreamlake/presign';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { ServerContext } from '../context.ts';

export function healthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/healthz', async () => {
    try {
      await sql`select 1`.execute(ctx.db);
    } catch {
      throw new DreamLakeError('storage_unavailable', 'database unreachable');
    }
    return { ok: true };
  });
}

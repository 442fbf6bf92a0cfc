import type { FastifyInstance } from 'fastify';
import type { BssContext } from '../http/context.ts';
import { health } from './answers.ts';
import { open } from './route-docs.ts';

/** `GET /healthz`: the process answers, and names its storage backend. */
export function registerHealthRoute(app: FastifyInstance, ctx: BssContext): void {
  const doc = open({ summary: 'Alive: the process answers', tags: ['operations'], responses: { 200: health } });
  app.get('/healthz', { config: { doc } }, async () => ({ ok: true, storage: ctx.storage.kind }));
}

import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.ts';
import { caller } from '../auth/authenticate.ts';
import { initUpload } from '../services/upload-init.ts';

export function uploadRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/uploads/init', { onRequest: ctx.authenticate }, async (request) => {
    return initUpload(ctx, caller(request), request.body, request.ip);
  });
}

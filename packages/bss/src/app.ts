import Fastify, { type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import { loggerOptions, registerErrorHandling } from '@dreamlake/presign/http';
import type { BssConfig } from './config.ts';
import type { BssContext } from './http/context.ts';
import { registerBlobRoutes } from './routes/blobs.ts';
import { registerLambdaRoutes } from './routes/lambda.ts';
import { registerMultipartRoutes } from './routes/multipart.ts';
import { registerPartRoute } from './routes/part.ts';
import { registerSingleRoutes } from './routes/single.ts';
import { registerSinglePutRoute } from './routes/single-put.ts';
import { receivesParts } from './storage/part-receiver.ts';
import type { Storage } from './storage/storage.ts';

/** JSON bodies are small: the largest is a complete with 10,000 parts. */
export const JSON_BODY_LIMIT = 1024 * 1024;

/** How long a connection may stay silent in both directions. */
export const IDLE_CONNECTION_MS = 10 * 60 * 1000;

export interface BuildBssAppOptions {
  config: BssConfig;
  storage: Storage;
  /** Unix seconds now; injectable for tests. */
  clock?: () => number;
}

/** The BSS HTTP app (not listening). */
export async function buildBssApp(options: BuildBssAppOptions): Promise<FastifyInstance> {
  const { config, storage } = options;
  const ctx: BssContext = { config, storage, clock: options.clock ?? (() => Math.floor(Date.now() / 1000)) };
  const app = Fastify({
    logger: loggerOptions(config.logLevel),
    bodyLimit: JSON_BODY_LIMIT,
    // No limit on a whole request (a 5 GiB part on a slow link is fine), but a connection that
    // stays silent this long is dropped, so a stalled part PUT cannot hold its temporary file.
    // Long enough for a complete that hashes a very large object before it answers.
    connectionTimeout: IDLE_CONNECTION_MS,
    return503OnClosing: true,
  });

  registerErrorHandling(app);
  await app.register(cors, {
    origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins.length > 0 ? [...config.corsOrigins] : false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'OPTIONS'],
    allowedHeaders: ['content-type', 'content-md5', 'range'],
    exposedHeaders: ['ETag', 'Content-Range', 'Content-Length', 'Accept-Ranges'],
    maxAge: 600,
  });
  app.addHook('onSend', async (_request, reply) => {
    void reply.header('referrer-policy', 'no-referrer');
  });

  app.get('/healthz', async () => ({ ok: true, storage: storage.kind }));
  registerMultipartRoutes(app, ctx);
  if (receivesParts(storage)) await registerPartRoute(app, ctx, storage);
  registerSingleRoutes(app, ctx);
  await registerSinglePutRoute(app, ctx);
  registerBlobRoutes(app, ctx);
  registerLambdaRoutes(app, ctx);
  return app;
}

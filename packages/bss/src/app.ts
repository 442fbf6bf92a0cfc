import { CRC32_HEADER } from '@dreamlake/protocol';
import { createApp, REQUEST_ID_HEADER } from '@dreamlake/service';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { BssConfig } from './config.ts';
import type { BssContext } from './http/context.ts';
import { registerObservability } from './observability/index.ts';
import { createReadiness, type Readiness } from './observability/readiness.ts';
import { registerBlobRoutes } from './routes/blobs.ts';
import { registerHealthRoute } from './routes/health.ts';
import { registerMultipartRoutes } from './routes/multipart.ts';
import { registerPartRoute } from './routes/part.ts';
import { registerSingleRoutes } from './routes/single.ts';
import { registerSinglePutRoute } from './routes/single-put.ts';
import { registerSinglesRoute } from './routes/singles.ts';
import { registerTriggerRoutes } from './routes/triggers.ts';
import { receivesParts } from './storage/part-receiver.ts';
import { receivesSingles } from './storage/single-upload.ts';
import type { Storage } from './storage/storage.ts';

/** JSON bodies are small: the largest is a complete with 10,000 parts. */
export const JSON_BODY_LIMIT = 1024 * 1024;

export interface BuildBssAppOptions {
  config: BssConfig;
  storage: Storage;
  /** Unix seconds now; injectable for tests. */
  clock?: () => number;
  /** What `/readyz` checks; the configured backend's folder or bucket unless given. */
  readiness?: Readiness;
  /** Where log lines go instead of stdout (tests read them). */
  logStream?: { write(line: string): void };
}

/** The BSS HTTP app (not listening). */
export async function buildBssApp(options: BuildBssAppOptions): Promise<FastifyInstance> {
  const { config, storage } = options;
  const ctx: BssContext = { config, storage, clock: options.clock ?? (() => Math.floor(Date.now() / 1000)) };
  // A part body of up to 5 GiB may come over a slow link: REQUEST_TIMEOUT_SECONDS is long. A
  // connection silent for IDLE_TIMEOUT_SECONDS is dropped, so a stalled part PUT cannot hold its
  // temporary file; a complete, which may hash a large object with nothing on the wire, lifts it.
  const app = createApp({
    logLevel: config.logLevel,
    logStream: options.logStream,
    timeouts: config.timeouts,
    bodyLimit: JSON_BODY_LIMIT,
  });
  await registerObservability(app, config, options.readiness ?? createReadiness(config), storage);
  await app.register(cors, {
    origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins.length > 0 ? [...config.corsOrigins] : false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'OPTIONS'],
    allowedHeaders: ['content-type', 'content-md5', CRC32_HEADER, 'range', REQUEST_ID_HEADER],
    exposedHeaders: ['ETag', 'Content-Range', 'Content-Length', 'Accept-Ranges', REQUEST_ID_HEADER],
    maxAge: 600,
  });
  app.addHook('onSend', async (_request, reply) => {
    void reply.header('referrer-policy', 'no-referrer');
  });

  registerHealthRoute(app, ctx);
  registerMultipartRoutes(app, ctx);
  if (receivesParts(storage)) await registerPartRoute(app, ctx, storage);
  registerSingleRoutes(app, ctx);
  await registerSinglePutRoute(app, ctx);
  if (receivesSingles(storage)) await registerSinglesRoute(app, ctx, storage);
  registerBlobRoutes(app, ctx);
  registerTriggerRoutes(app, ctx);
  return app;
}

import { type DrainResult, stoppable, trackRequests } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { buildServerApp } from './app.ts';
import { createBssClient } from './bss-client.ts';
import type { ServerConfig } from './config.ts';
import { openDatabase } from './db/open.ts';
import { type BlobGcJob, startBlobGc } from './gc/blob-gc.ts';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  /** Closes at once: requests in flight are finished, new connections refused. */
  close(): Promise<void>;
  /**
   * Drains (see `drain` in @dreamlake/service: /readyz 503, serving on for
   * SHUTDOWN_DELAY_SECONDS, then finishing requests within SHUTDOWN_GRACE_SECONDS), then stops the
   * collection and closes the database.
   */
  shutdown(reason: string): Promise<DrainResult | undefined>;
}

/**
 * Opens the database (migrating it), builds the app, listens on the configured host and port and
 * collects unregistered blobs every BLOB_GC_INTERVAL_SECONDS.
 */
export async function startServer(config: Readonly<ServerConfig>): Promise<RunningServer> {
  const db = await openDatabase(config);
  let app: FastifyInstance;
  try {
    app = await buildServerApp({ config, db });
    trackRequests(app.server);
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let gc: BlobGcJob | undefined;
  if (config.blobGcIntervalSeconds > 0) {
    gc = startBlobGc(
      { db, bss: createBssClient(config), config, clock: Date.now },
      config.blobGcIntervalSeconds,
      (error) => app.log.error({ err: error }, 'collecting unregistered blobs failed'),
      (result) => {
        if (result.deleted > 0) app.log.info({ deleted: result.deleted }, 'collected unregistered blobs');
      },
    );
  }
  return {
    app,
    url: `http://${host}:${port}`,
    ...stoppable(app, config.shutdown, async () => {
      await gc?.stop();
      await db.destroy();
    }),
  };
}

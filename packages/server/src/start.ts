import type { FastifyInstance } from 'fastify';
import { buildServerApp } from './app.ts';
import { createBssClient } from './bss-client.ts';
import type { ServerConfig } from './config.ts';
import { openDatabase } from './db/open.ts';
import { type BlobGcJob, startBlobGc } from './gc/blob-gc.ts';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
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
  let closing: Promise<void> | undefined;
  return {
    app,
    url: `http://${host}:${port}`,
    close() {
      closing ??= Promise.resolve(gc?.stop())
        .then(() => app.close())
        .finally(() => db.destroy());
      return closing;
    },
  };
}

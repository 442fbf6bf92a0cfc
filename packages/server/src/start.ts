import type { FastifyInstance } from 'fastify';
import { buildServerApp } from './app.ts';
import type { ServerConfig } from './config.ts';
import { openDatabase } from './db/open.ts';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** Opens the database (migrating it), builds the app and listens on the configured host and port. */
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
  let closing: Promise<void> | undefined;
  return {
    app,
    url: `http://${host}:${port}`,
    close() {
      closing ??= app.close().finally(() => db.destroy());
      return closing;
    },
  };
}

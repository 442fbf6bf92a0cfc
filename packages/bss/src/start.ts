import type { FastifyInstance } from 'fastify';
import { buildBssApp } from './app.ts';
import type { BssConfig } from './config.ts';
import { createStorage } from './storage/index.ts';

export interface RunningBss {
  app: FastifyInstance;
  /** The address BSS listens on, e.g. http://127.0.0.1:10234. */
  url: string;
  close(): Promise<void>;
}

/**
 * Creates the storage, builds the app, listens and sweeps stale uploads periodically.
 * With port 0, part URLs point at the port actually bound unless BSS_PUBLIC_URL says otherwise.
 */
export async function startBss(config: BssConfig): Promise<RunningBss> {
  let listenUrl = config.publicUrl;
  const publicUrlFollowsListen = config.port === 0 && new URL(config.publicUrl).port === '0';
  const storage = await createStorage(config, {
    publicUrl: () => (publicUrlFollowsListen ? listenUrl : config.publicUrl),
  });
  let app: FastifyInstance;
  try {
    app = await buildBssApp({ config, storage });
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await storage.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  listenUrl = `http://${host}:${port}`;

  let sweeping: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    sweeping = storage
      .sweep(new Date(Date.now() - config.staleUploadHours * 3600_000))
      .then((removed) => {
        if (removed > 0) app.log.info({ removed }, 'swept stale uploads');
      })
      .catch((error: unknown) => app.log.error({ err: error }, 'sweep failed'));
  };
  const timer = config.sweepIntervalSeconds > 0 ? setInterval(sweep, config.sweepIntervalSeconds * 1000) : undefined;
  timer?.unref();
  if (timer) sweep();

  let closing: Promise<void> | undefined;
  return {
    app,
    url: listenUrl,
    close() {
      closing ??= (async () => {
        if (timer) clearInterval(timer);
        await app.close();
        await sweeping;
        await storage.close();
      })();
      return closing;
    },
  };
}

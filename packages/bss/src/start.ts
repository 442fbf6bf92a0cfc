import { type DrainResult, stoppable, trackRequests } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { buildBssApp } from './app.ts';
import type { BssConfig } from './config.ts';
import { createReadiness, drainAwareReadiness } from './observability/readiness.ts';
import { createStorage } from './storage/index.ts';

export interface RunningBss {
  app: FastifyInstance;
  /** The address BSS listens on, e.g. http://127.0.0.1:10234. */
  url: string;
  /** Closes at once: requests in flight are finished, new connections refused. */
  close(): Promise<void>;
  /**
   * Drains (see `drain` in @dreamlake/service: /readyz 503, serving on for
   * SHUTDOWN_DELAY_SECONDS, then finishing requests within SHUTDOWN_GRACE_SECONDS), then stops the
   * sweep and closes the storage.
   */
  shutdown(reason: string): Promise<DrainResult | undefined>;
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
  let app: FastifyInstance | undefined;
  try {
    const readiness = drainAwareReadiness(createReadiness(config), () => app?.server);
    app = await buildBssApp({ config, storage, readiness });
    trackRequests(app.server);
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

  const running = app;
  return {
    app: running,
    url: listenUrl,
    ...stoppable(running, config.shutdown, async () => {
      if (timer) clearInterval(timer);
      await sweeping;
      await storage.close();
    }),
  };
}

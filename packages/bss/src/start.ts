import { type RunningService, runPeriodically, startService } from '@dreamlake/service';
import { buildBssApp } from './app.ts';
import type { BssConfig } from './config.ts';
import { createStorage } from './storage/index.ts';

/**
 * A running BSS. `close()` closes at once (requests in flight are finished, new connections
 * refused); `shutdown()` drains (see `drain` in @dreamlake/service: /readyz 503, serving on for
 * SHUTDOWN_DELAY_SECONDS, then finishing requests within SHUTDOWN_GRACE_SECONDS). Both then stop
 * the sweep (waiting for a sweep under way) and close the storage.
 */
export type RunningBss = RunningService;

/**
 * Creates the storage, builds the app, listens and sweeps stale uploads every
 * SWEEP_INTERVAL_SECONDS (a sweep still going skips a tick).
 * With port 0, part URLs point at the port actually bound unless BSS_PUBLIC_URL says otherwise.
 */
export async function startBss(config: BssConfig): Promise<RunningBss> {
  let listenUrl = config.publicUrl;
  const publicUrlFollowsListen = config.port === 0 && new URL(config.publicUrl).port === '0';
  const storage = await createStorage(config, {
    publicUrl: () => (publicUrlFollowsListen ? listenUrl : config.publicUrl),
  });
  return startService({
    host: config.host,
    port: config.port,
    shutdown: config.shutdown,
    build: () => buildBssApp({ config, storage }),
    listening: (url) => {
      listenUrl = url;
    },
    jobs: (app) => {
      if (config.sweepIntervalSeconds === 0) return [];
      const sweep = async () => {
        const removed = await storage.sweep(new Date(Date.now() - config.staleUploadHours * 3600_000));
        if (removed > 0) app.log.info({ removed }, 'swept stale uploads');
      };
      return [
        runPeriodically(sweep, {
          intervalMs: config.sweepIntervalSeconds * 1000,
          onError: (error) => app.log.error({ err: error }, 'sweep failed'),
        }),
      ];
    },
    release: () => storage.close(),
  });
}

import type { FastifyInstance } from 'fastify';
import { type DrainTimes, type Stoppable, stoppable, trackRequests } from './drain.ts';
import type { PeriodicJob } from './periodic.ts';

/** The base URL of an address the service listens on: `http://127.0.0.1:10233`, `http://[::1]:10233`. */
export function serviceUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export interface StartOptions {
  host: string;
  /** 0 for any free port (tests); the URL names the one bound. */
  port: number;
  /** How a SIGTERM drains (SHUTDOWN_DELAY_SECONDS, SHUTDOWN_GRACE_SECONDS). */
  shutdown: DrainTimes;
  /** Builds the app, its routes registered. */
  build(): Promise<FastifyInstance>;
  /** Told of the URL once the service listens, before any job starts. */
  listening?(url: string): void;
  /** The jobs to run while the service runs (collections, sweeps), started once it listens. */
  jobs?(app: FastifyInstance): readonly PeriodicJob[];
  /**
   * Closes what the service opened for the app (its database, its storage): when building or
   * listening fails, and at the stop, after the HTTP side and the jobs.
   */
  release(): Promise<void>;
}

export interface RunningService extends Stoppable {
  app: FastifyInstance;
  /** The address the service listens on, e.g. http://127.0.0.1:10234. */
  url: string;
}

/**
 * Starts a service: builds its app, follows its requests (for the drain), listens, starts its
 * jobs. Stopping it (`close()` at once, `shutdown()` draining first) stops the jobs, waiting for a
 * run under way, then releases what it holds.
 */
export async function startService(options: StartOptions): Promise<RunningService> {
  let app: FastifyInstance;
  try {
    app = await options.build();
    trackRequests(app.server);
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await options.release();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = serviceUrl(options.host, port);
  options.listening?.(url);
  const jobs = options.jobs?.(app) ?? [];
  return {
    app,
    url,
    ...stoppable(app, options.shutdown, async () => {
      try {
        await Promise.all(jobs.map((job) => job.stop()));
      } finally {
        await options.release();
      }
    }),
  };
}

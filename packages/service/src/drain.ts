import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

/**
 * Draining a service on SIGTERM so that a balancer in front of it loses no request:
 *
 * 1. `/readyz` answers 503 at once, and every answer from then on carries `Connection: close`
 *    (the answers already under way too, when their headers are not out yet), so no connection
 *    is reused after its request.
 * 2. The service keeps serving for `delayMs`, the time the balancer takes to see the failed
 *    checks and stop sending, and past it until `/readyz` has answered 503 `FAILED_PROBES` times
 *    (the balancer's `fall`: it has taken the instance out), at most until half the grace is gone.
 *    Both are skipped when nothing asked `/readyz` lately: no balancer watches.
 * 3. The listener closes, idle keep-alive connections are closed, and the requests in flight
 *    finish, every one of them served (the framework's own closing, which answers 503 to a
 *    request read after it began, starts only once every connection is gone); whatever is still
 *    running `graceMs` after the signal is cut.
 *
 * The caller then closes its pools and exits.
 */
export interface DrainTimes {
  /** How long the service keeps serving after `/readyz` turned 503. */
  delayMs: number;
  /** How long the whole drain may take, from the signal; requests still running then are cut. */
  graceMs: number;
}

/** A `/readyz` asked within this long means a balancer (or an orchestrator) watches the instance. */
export const WATCHED_WITHIN_MS = 60_000;

/** Failed `/readyz` answers after which the balancer has taken the instance out (HAProxy's `fall 2`). */
export const FAILED_PROBES = 2;

/**
 * How long no request (other than `/readyz` and `/healthz`) must have come before the listener
 * closes: a request the balancer sent just before it took the instance out may still wait in the
 * accept queue or a socket buffer of a busy process, and closing would reset it.
 */
export const QUIET_MS = 1000;

interface DrainState {
  draining: boolean;
  /** Answers not yet finished. */
  inFlight: Set<ServerResponse>;
  /** When `/readyz` was last asked (ms since the epoch). */
  lastProbe: number | undefined;
  /** `/readyz` answered 503 since the drain began. */
  failedProbes: number;
  /** When the last request other than a probe came (ms since the epoch). */
  lastRequest: number;
  /** Told of each of them. */
  onProbe: (() => void) | undefined;
}

const states = new WeakMap<Server, DrainState>();

function stateOf(server: Server): DrainState {
  let state = states.get(server);
  if (!state) {
    state = {
      draining: false,
      inFlight: new Set(),
      lastProbe: undefined,
      failedProbes: 0,
      lastRequest: 0,
      onProbe: undefined,
    };
    states.set(server, state);
  }
  return state;
}

/**
 * Follows the answers under way on `server`, so a drain knows what is in flight and closes each
 * connection after its answer. Call once, before the service listens.
 */
export function trackRequests(server: Server): void {
  const state = stateOf(server);
  server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    state.inFlight.add(response);
    if (!/^\/(readyz|healthz)\b/.test(request.url ?? '')) state.lastRequest = Date.now();
    if (state.draining) response.setHeader('connection', 'close');
    response.once('close', () => {
      state.inFlight.delete(response);
      // A connection whose answer went out before the drain (no `Connection: close`) is idle now.
      if (state.draining && !server.listening) setImmediate(() => server.closeIdleConnections());
    });
  });
}

/**
 * For `/readyz`: notes that something watches readiness, and says whether the service is
 * draining (then `/readyz` answers 503).
 */
export function probeDrain(server: Server, now = Date.now()): boolean {
  const state = stateOf(server);
  state.lastProbe = now;
  if (state.draining) {
    state.failedProbes += 1;
    state.onProbe?.();
  }
  return state.draining;
}

export interface DrainOptions extends DrainTimes {
  log: FastifyBaseLogger;
  /** What started it (`SIGTERM`), for the log. */
  reason: string;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface DrainResult {
  /** How long the service kept serving after `/readyz` turned 503. */
  delayedMs: number;
  /** Requests under way when the listener closed. */
  inFlight: number;
  /** Requests still running at the end of the grace, whose connections were cut. */
  cut: number;
  /** From the signal until every connection was closed. */
  tookMs: number;
}

const sleeping = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Drains `app` (see DrainTimes) and closes it; resolves once every connection is closed. */
export async function drain(app: FastifyInstance, options: DrainOptions): Promise<DrainResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleeping;
  const { log } = options;
  const state = stateOf(app.server);
  const began = now();
  state.draining = true;
  for (const response of state.inFlight) {
    if (!response.headersSent) response.setHeader('connection', 'close');
  }
  const watched = state.lastProbe !== undefined && began - state.lastProbe < WATCHED_WITHIN_MS;
  const delayMs = watched ? Math.min(options.delayMs, options.graceMs) : 0;
  log.info(
    { drain: 'begin', reason: options.reason, inFlight: state.inFlight.size, delayMs, graceMs: options.graceMs },
    `${options.reason}: draining; /readyz answers 503, serving on for ${delayMs} ms while the balancer stops sending`,
  );
  if (delayMs > 0) {
    await sleep(delayMs);
    // The balancer has not seen enough failed checks yet (a busy host checks late): serve on until
    // it has, within half the grace.
    const until = began + options.graceMs / 2;
    if (state.failedProbes < FAILED_PROBES && now() < until) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, until - now()));
        state.onProbe = () => {
          if (state.failedProbes < FAILED_PROBES) return;
          clearTimeout(timer);
          resolve();
        };
      });
      state.onProbe = undefined;
    }
    // And until no request has come for QUIET_MS: what the balancer sent before it stopped is read.
    for (;;) {
      // After the timers, let the pending I/O run (accepted connections, requests read) first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const quietFor = Date.now() - state.lastRequest;
      if (quietFor >= QUIET_MS || now() >= until) break;
      await sleep(Math.min(QUIET_MS - quietFor, Math.max(0, until - now())));
    }
  }
  const delayedMs = now() - began;

  const inFlight = state.inFlight.size;
  log.info(
    { drain: 'close', inFlight, failedProbes: state.failedProbes, delayedMs },
    `draining: listener and idle connections closed, finishing ${inFlight} requests in flight`,
  );
  let cut = 0;
  const timer = setTimeout(
    () => {
      cut = state.inFlight.size;
      log.warn({ drain: 'cut', cut }, `draining: grace over, cutting ${cut} requests still in flight`);
      app.server.closeAllConnections();
    },
    Math.max(0, options.graceMs - (now() - began)),
  );
  try {
    // Node's close stops accepting, closes the idle connections and calls back once the last
    // connection is gone; only then does the app close (its hooks, its own state).
    await new Promise<void>((resolve) => app.server.close(() => resolve()));
  } finally {
    clearTimeout(timer);
  }
  await app.close();
  const tookMs = now() - began;
  log.info({ drain: 'done', tookMs, cut }, `drained in ${tookMs} ms`);
  return { delayedMs, inFlight, cut, tookMs };
}

/** How a running service stops: `close()` at once (tests, dev), `shutdown()` draining first. */
export interface Stoppable {
  close(): Promise<void>;
  shutdown(reason: string): Promise<DrainResult | undefined>;
}

/**
 * The stop of a service built on `app`: whichever of `close()` and `shutdown()` comes first closes
 * the HTTP side (at once, or by draining within `times`), then runs `release` (its jobs, pools and
 * storage) even when that failed; a later call waits for the same stop.
 */
export function stoppable(app: FastifyInstance, times: DrainTimes, release: () => Promise<void>): Stoppable {
  let closing: Promise<DrainResult | undefined> | undefined;
  const stop = (closeHttp: () => Promise<DrainResult | undefined>) => {
    closing ??= (async () => {
      try {
        return await closeHttp();
      } finally {
        await release();
      }
    })();
    return closing;
  };
  return {
    async close() {
      await stop(async () => {
        await app.close();
        return undefined;
      });
    },
    shutdown: (reason) => stop(() => drain(app, { ...times, log: app.log, reason })),
  };
}

/**
 * Runs `shutdown` on the first SIGTERM or SIGINT and exits 0 when it succeeds (1 when it fails);
 * a second signal exits at once.
 */
export function exitOnSignals(log: FastifyBaseLogger, shutdown: (signal: string) => Promise<unknown>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, `${signal} again: exiting without finishing the drain`);
      process.exit(1);
    }
    stopping = true;
    shutdown(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutting down failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

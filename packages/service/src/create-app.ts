import type { Server } from 'node:http';
import Fastify, { type FastifyHttpOptions, type FastifyInstance } from 'fastify';
import { frameworkErrors, registerErrorHandling } from './error-handler.ts';
import { loggerOptions } from './logging.ts';
import { requestIdOptions } from './request-id.ts';

/** How long a client may take over each stage of a request before its connection is dropped. */
export interface HttpTimeouts {
  /** Until the request's headers are all in. */
  headersMs: number;
  /** Until the whole request, headers and body, is in (Node answers 408); 0 for no limit. */
  requestMs: number;
  /** A connection silent in both directions this long is dropped. */
  idleMs: number;
  /** How long an idle keep-alive connection is kept between requests. */
  keepAliveMs: number;
}

export interface AppOptions {
  /** The pino level (`info`, `silent`, …). */
  logLevel: string;
  /** Where log lines go instead of stdout (tests read them). */
  logStream?: { write(line: string): void } | undefined;
  timeouts: HttpTimeouts;
  /** Fastify's `trustProxy`: whose `X-Forwarded-*` headers to believe; none unless given. */
  trustProxy?: boolean | string | undefined;
  /** The largest body Fastify parses (JSON); its default of 1 MiB unless given. */
  bodyLimit?: number | undefined;
}

/** How often Node looks for connections past their header or request deadline. */
export function checkingInterval(headersMs: number): number {
  return Math.min(5000, Math.max(100, Math.floor(headersMs / 4)));
}

/**
 * A service's Fastify instance with what every service has, before its routes: the logger (with
 * redaction), the timeouts, request ids and the one error handler.
 */
export function createApp(options: AppOptions): FastifyInstance {
  const logger = loggerOptions(options.logLevel);
  const { headersMs, requestMs, idleMs, keepAliveMs } = options.timeouts;
  const settings: FastifyHttpOptions<Server> = {
    logger: logger && options.logStream ? { ...(logger as object), stream: options.logStream } : logger,
    // A client that trickles its headers or body, or holds a silent connection, is cut off: headers
    // within headersMs, the whole request within requestMs (Node answers 408), silence for idleMs.
    http: {
      headersTimeout: headersMs,
      requestTimeout: requestMs,
      connectionsCheckingInterval: checkingInterval(headersMs),
    },
    requestTimeout: requestMs,
    connectionTimeout: idleMs,
    keepAliveTimeout: keepAliveMs,
    // Requests read once the app closes are answered 503 (what a balancer retries elsewhere).
    return503OnClosing: true,
    // Refusals before routing answer the same JSON error shape as everything else.
    frameworkErrors,
    // One id per request, the client's own when it sent one; every log line and answer carries it.
    ...requestIdOptions(),
  };
  if (options.trustProxy !== undefined) settings.trustProxy = options.trustProxy;
  if (options.bodyLimit !== undefined) settings.bodyLimit = options.bodyLimit;
  const app = Fastify(settings);
  registerErrorHandling(app);
  return app;
}

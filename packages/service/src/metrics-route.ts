import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { DreamLakeError } from '@dreamlake/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteDoc } from './openapi.ts';

export interface MetricsRouteOptions {
  /**
   * When set, a scrape must send `Authorization: Bearer <token>`. When null, only a process
   * listening on a loopback address (see `host`) answers: anyone reaching the port may read.
   */
  token: string | null;
  /** The address the process listens on (HOST). Without a token, any but a loopback one refuses /metrics. */
  host?: string;
  contentType: string;
  render(): Promise<string>;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

function hasToken(request: FastifyRequest, token: string): boolean {
  const header = request.headers.authorization ?? '';
  const sent = header.startsWith('Bearer ') ? header.slice(7) : '';
  return timingSafeEqual(digest(sent), digest(token));
}

/** Whether only this machine reaches an address: 127.0.0.0/8, ::1 (and its IPv4-mapped form), localhost. */
export function isLoopback(host: string): boolean {
  const address = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (address === 'localhost') return true;
  if (isIP(address) === 4) return address.startsWith('127.');
  if (isIP(address) === 6) return address === '::1' || /^::ffff:127\./.test(address);
  return false;
}

/** `/metrics` as the OpenAPI document describes it. */
const METRICS_ROUTE_DOC: RouteDoc = {
  summary: 'Prometheus metrics of this process',
  tags: ['operations'],
  auth: 'metricsToken',
  responses: { 200: { mediaType: 'text/plain', description: 'Prometheus text exposition format 0.0.4' } },
  errors: ['unauthorized', 'forbidden'],
};

/**
 * `GET /metrics`: the registry's text, behind the metrics token when one is configured. Without
 * one, a process listening on anything but a loopback address (0.0.0.0, a private IP, a name)
 * answers 403 and says so in its log at start: its metrics would be open to the network.
 */
export function registerMetricsRoute(app: FastifyInstance, options: MetricsRouteOptions): void {
  const { token } = options;
  const exposed = token === null && options.host !== undefined && !isLoopback(options.host);
  if (exposed) {
    app.log.warn(
      `HOST=${options.host} is not a loopback address and METRICS_TOKEN is not set: /metrics answers 403 until it is`,
    );
  }
  app.get('/metrics', { config: { doc: METRICS_ROUTE_DOC } }, async (request, reply) => {
    if (exposed) {
      throw new DreamLakeError(
        'forbidden',
        'metrics are served without METRICS_TOKEN only on a loopback address: set METRICS_TOKEN',
      );
    }
    if (token !== null && !hasToken(request, token)) {
      void reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw new DreamLakeError('unauthorized', 'metrics need the metrics token');
    }
    return reply.type(options.contentType).send(await options.render());
  });
}

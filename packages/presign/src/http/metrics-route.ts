import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DreamLakeError } from '../errors.ts';

export interface MetricsRouteOptions {
  /** When set, a scrape must send `Authorization: Bearer <token>`; else anyone reaching the port may read. */
  token: string | null;
  contentType: string;
  render(): Promise<string>;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

function hasToken(request: FastifyRequest, token: string): boolean {
  const header = request.headers.authorization ?? '';
  const sent = header.startsWith('Bearer ') ? header.slice(7) : '';
  return timingSafeEqual(digest(sent), digest(token));
}

/** `GET /metrics`: the registry's text, behind the metrics token when one is configured. */
export function registerMetricsRoute(app: FastifyInstance, options: MetricsRouteOptions): void {
  const { token } = options;
  app.get('/metrics', async (request, reply) => {
    if (token !== null && !hasToken(request, token)) {
      void reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw new DreamLakeError('unauthorized', 'metrics need the metrics token');
    }
    return reply.type(options.contentType).send(await options.render());
  });
}

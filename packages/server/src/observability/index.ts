import {
  describeRoutes,
  echoRequestIds,
  observeRequests,
  type RouteCatalog,
  registerMetricsRoute,
} from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../config.ts';
import { type DB, onQueries } from '../db/open.ts';
import { registerApiDocs } from './api-docs.ts';
import { createServerMetrics, recordServerRequest, type ServerMetrics } from './metrics.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered and those the OpenAPI table does not describe. */
    routeCatalog: RouteCatalog;
  }
}

/**
 * What operators read: request ids on every answer and log line, `/metrics`, `/openapi.json`
 * (and `/docs` when enabled). Register before any route, so each is documented and measured.
 */
export async function registerObservability(
  app: FastifyInstance,
  config: Pick<ServerConfig, 'metricsToken' | 'apiDocsUi' | 'host'>,
  db: DB,
): Promise<ServerMetrics> {
  app.decorate('routeCatalog', describeRoutes(app));
  await registerApiDocs(app, config.apiDocsUi);
  echoRequestIds(app);
  const metrics = createServerMetrics();
  observeRequests(app, (sample) => recordServerRequest(metrics, sample));
  const stop = onQueries(db, (seconds, failed) =>
    metrics.queries.observe({ outcome: failed ? 'error' : 'ok' }, seconds),
  );
  app.addHook('onClose', async () => stop());
  registerMetricsRoute(app, {
    token: config.metricsToken,
    host: config.host,
    contentType: metrics.registry.contentType,
    render: () => metrics.registry.metrics(),
  });
  return metrics;
}

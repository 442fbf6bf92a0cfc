import type { FastifyInstance } from 'fastify';
import { type ApiDocsOptions, registerApiDocs } from './api-docs.ts';
import { registerMetricsRoute } from './metrics-route.ts';
import { observeRequests, type RequestSample } from './observe.ts';
import { describeRoutes, type RouteCatalog } from './openapi.ts';
import { echoRequestIds } from './request-id.ts';
import { countRequest, type RequestMetrics } from './request-metrics.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered after `registerObservability`, and those registered without a doc. */
    routeCatalog: RouteCatalog;
  }
}

export interface ObservabilityOptions {
  docs: ApiDocsOptions;
  /** `METRICS_TOKEN`; null serves `/metrics` on a loopback address only. */
  metricsToken: string | null;
  /** The address the service listens on (HOST). */
  host: string;
  /** The service's registry, with the request counter and histogram. */
  metrics: RequestMetrics;
  /** What the service counts of each answered request besides the requests and their latency. */
  record?: (sample: RequestSample) => void;
}

/**
 * What operators read of every service: `/openapi.json` (and `/docs`), the request id on every
 * answer, each answered request counted, `/metrics`. Register before the service's routes: each
 * is then described from its doc as it is registered (`describeRoutes`; `app.routeCatalog` lists
 * them) and measured.
 */
export async function registerObservability(app: FastifyInstance, options: ObservabilityOptions): Promise<void> {
  app.decorate('routeCatalog', describeRoutes(app));
  await registerApiDocs(app, options.docs);
  echoRequestIds(app);
  const { metrics, record } = options;
  observeRequests(app, (sample) => {
    countRequest(metrics, sample);
    record?.(sample);
  });
  registerMetricsRoute(app, {
    token: options.metricsToken,
    host: options.host,
    contentType: metrics.registry.contentType,
    render: () => metrics.registry.metrics(),
  });
}

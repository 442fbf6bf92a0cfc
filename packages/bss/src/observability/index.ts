import { DreamLakeError } from '@dreamlake/presign';
import {
  describeRoutes,
  echoRequestIds,
  observeRequests,
  type RouteCatalog,
  registerMetricsRoute,
} from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { readiness as readinessAnswer } from '../routes/answers.ts';
import type { BssConfig } from '../config.ts';
import type { S3Observer } from '../storage/s3/index.ts';
import { registerApiDocs } from './api-docs.ts';
import { type BssMetrics, countTransfers, createBssMetrics, recordBssRequest } from './metrics.ts';
import type { Readiness } from './readiness.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered and those the OpenAPI table does not describe. */
    routeCatalog: RouteCatalog;
  }
}

/**
 * What operators read: request ids on every answer and log line, `/metrics`, `/openapi.json`
 * (and `/docs` when enabled), `/readyz`. Register before any route, so each is documented and measured.
 */
export async function registerObservability(
  app: FastifyInstance,
  config: Pick<BssConfig, 'metricsToken' | 'apiDocsUi' | 'host'>,
  readiness: Readiness,
  /** A backend that reports S3's failures and retries (the S3 one). */
  storage?: object,
): Promise<BssMetrics> {
  app.decorate('routeCatalog', describeRoutes(app));
  await registerApiDocs(app, config.apiDocsUi);
  echoRequestIds(app);
  const metrics = createBssMetrics();
  observeRequests(app, (sample) => recordBssRequest(metrics, sample));
  countTransfers(app, metrics);
  if (storage && 'watchS3' in storage) {
    const stop = (storage.watchS3 as (observer: S3Observer) => () => void)({
      attemptFailed: (operation, error) => metrics.s3Errors.inc({ operation, error }),
      retried: (operation, count) => metrics.s3Retries.inc({ operation }, count),
    });
    app.addHook('onClose', async () => stop());
  }
  registerMetricsRoute(app, {
    token: config.metricsToken,
    host: config.host,
    contentType: metrics.registry.contentType,
    render: () => metrics.registry.metrics(),
  });
  const readyDoc = {
    summary: 'Ready: the storage folder is writable, or the bucket answers (503 storage_unavailable when not)',
    tags: ['operations'],
    auth: 'none',
    responses: { 200: readinessAnswer },
    errors: ['storage_unavailable'],
  } as const;
  app.get('/readyz', { config: { doc: readyDoc } }, async () => {
    const checks = await readiness.check();
    if (Object.values(checks).some((state) => state !== 'ok')) {
      throw new DreamLakeError('storage_unavailable', 'storage is not reachable', { checks });
    }
    return { ok: true, checks };
  });
  app.addHook('onClose', async () => readiness.close());
  return metrics;
}

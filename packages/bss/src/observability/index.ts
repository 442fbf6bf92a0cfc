import { registerObservability as registerKit, registerReadinessRoute } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import type { BssConfig } from '../config.ts';
import type { S3Observer } from '../storage/s3/index.ts';
import { type BssMetrics, countTransfers, createBssMetrics, recordBssRequest } from './metrics.ts';
import type { Readiness } from './readiness.ts';

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
  const metrics = createBssMetrics();
  await registerKit(app, {
    docs: {
      title: 'DreamLake blob storage service (BSS)',
      description: 'Uploads and downloads behind URLs the server signs. Errors answer `{ error: { code, message } }`.',
      ui: config.apiDocsUi,
    },
    metricsToken: config.metricsToken,
    host: config.host,
    metrics,
    record: (sample) => recordBssRequest(metrics, sample),
  });
  countTransfers(app, metrics);
  if (storage && 'watchS3' in storage) {
    const stop = (storage.watchS3 as (observer: S3Observer) => () => void)({
      attemptFailed: (operation, error) => metrics.s3Errors.inc({ operation, error }),
      retried: (operation, count) => metrics.s3Retries.inc({ operation }, count),
    });
    app.addHook('onClose', async () => stop());
  }
  registerReadinessRoute(app, {
    check: () => readiness.check(),
    code: 'storage_unavailable',
    message: 'storage is not reachable',
    summary:
      'Ready: the storage folder is writable, or the bucket answers (503 storage_unavailable when not, or when draining)',
  });
  app.addHook('onClose', async () => readiness.close());
  return metrics;
}

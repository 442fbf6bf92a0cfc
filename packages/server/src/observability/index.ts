import { registerObservability as registerKit } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../config.ts';
import { type DB, onQueries } from '../db/open.ts';
import { createServerMetrics, recordServerRequest, type ServerMetrics } from './metrics.ts';

/**
 * What operators read: request ids on every answer and log line, `/metrics`, `/openapi.json`
 * (and `/docs` when enabled), the database's query times. Register before any route, so each is
 * documented and measured.
 */
export async function registerObservability(
  app: FastifyInstance,
  config: Pick<ServerConfig, 'metricsToken' | 'apiDocsUi' | 'host'>,
  db: DB,
): Promise<ServerMetrics> {
  const metrics = createServerMetrics();
  await registerKit(app, {
    docs: {
      title: 'DreamLake server',
      description:
        'Accounts, namespaces and spaces, upload grants and the file index. Errors answer `{ error: { code, message } }`.',
      ui: config.apiDocsUi,
    },
    metricsToken: config.metricsToken,
    host: config.host,
    metrics,
    record: (sample) => recordServerRequest(metrics, sample),
  });
  const stop = onQueries(db, (seconds, failed) =>
    metrics.queries.observe({ outcome: failed ? 'error' : 'ok' }, seconds),
  );
  app.addHook('onClose', async () => stop());
  return metrics;
}

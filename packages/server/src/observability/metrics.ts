import { createRequestMetrics, type RequestMetrics, type RequestSample } from '@dreamlake/service';
import { Counter, Histogram } from 'prom-client';
import type { GrantRecorder } from '../db/grant-recorder.ts';
import type { GrantAuditRow } from '../db/upload-grants.ts';

/** Seconds: from a cached answer to a slow complete or a scrypt login under load. */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

/** The server's metrics, in a registry of its own (one per app, so tests and apps never share). */
export interface ServerMetrics extends RequestMetrics {
  grants: Counter<'outcome'>;
  logins: Counter<'outcome'>;
  throttled: Counter<'route'>;
  queries: Histogram<'outcome'>;
}

export function createServerMetrics(): ServerMetrics {
  const base = createRequestMetrics(LATENCY_BUCKETS);
  const registers = [base.registry];
  return {
    ...base,
    grants: new Counter({
      name: 'dreamlake_upload_grants_total',
      help: 'Upload grants by outcome: granted, exists (already in the space), or the refusal code',
      labelNames: ['outcome'],
      registers,
    }),
    logins: new Counter({
      name: 'dreamlake_logins_total',
      help: 'Password logins by outcome: ok, or the refusal code (unauthorized, rate_limited, invalid_request)',
      labelNames: ['outcome'],
      registers,
    }),
    throttled: new Counter({
      name: 'dreamlake_auth_throttled_total',
      help: 'Sign-ups, logins and password changes refused by the throttle (429), by route',
      labelNames: ['route'],
      registers,
    }),
    queries: new Histogram({
      name: 'dreamlake_db_query_duration_seconds',
      help: 'Database query latency, by outcome (ok or error)',
      labelNames: ['outcome'],
      buckets: QUERY_BUCKETS,
      registers,
    }),
  };
}

const GRANT_ROUTES = new Set(['/uploads/init', '/uploads/batch']);

/** Counts one answered request into the auth and grant refusals (the kit counts the request itself). */
export function recordServerRequest(metrics: ServerMetrics, sample: RequestSample): void {
  if (sample.method !== 'POST') return;
  if (sample.route === '/auth/login') metrics.logins.inc({ outcome: sample.outcome });
  if (sample.outcome === 'rate_limited' && sample.route.startsWith('/auth/')) {
    metrics.throttled.inc({ route: sample.route });
  }
  // Grants given are counted as they are written to the audit log; refusals here.
  if (GRANT_ROUTES.has(sample.route) && sample.outcome !== 'ok') metrics.grants.inc({ outcome: sample.outcome });
}

/** Counts grants written to the audit log, by their outcome. */
export function countGrants(metrics: ServerMetrics, grants: readonly GrantAuditRow[]): void {
  for (const grant of grants) metrics.grants.inc({ outcome: grant.outcome });
}

/** The audit log's recorder, counting each grant it writes by its outcome. */
export function countingGrants(recorder: GrantRecorder, metrics: ServerMetrics): GrantRecorder {
  return {
    async record(grants) {
      await recorder.record(grants);
      countGrants(metrics, grants);
    },
  };
}

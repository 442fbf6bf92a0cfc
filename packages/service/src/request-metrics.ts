import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { RequestSample } from './observe.ts';

/** Requests answered and their latency, by method, route pattern and status: the same in every service. */
export interface RequestMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  latency: Histogram<'method' | 'route' | 'status'>;
}

/**
 * A registry of the service's own (one per app, so tests and apps never share), with the
 * process's default metrics and the request counter and latency histogram (`buckets`, seconds).
 */
export function createRequestMetrics(buckets: readonly number[]): RequestMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'dreamlake_http_requests_total',
      help: 'Requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    latency: new Histogram({
      name: 'dreamlake_http_request_duration_seconds',
      help: 'Time from a request arriving to its answer being sent, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [...buckets],
      registers,
    }),
  };
}

/** Counts one answered request. */
export function countRequest(metrics: RequestMetrics, sample: RequestSample): void {
  const labels = { method: sample.method, route: sample.route, status: String(sample.status) };
  metrics.requests.inc(labels);
  metrics.latency.observe(labels, sample.seconds);
}

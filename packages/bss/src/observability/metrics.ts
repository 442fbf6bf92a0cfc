import { createRequestMetrics, type RequestMetrics, type RequestSample } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** A complete hashes the whole object: seconds for small files, many minutes for 5 TB. */
const VERIFY_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600];

/** The signature refusals, by the code the client was answered. */
const SIGNATURE_CODES = new Set([
  'missing_signature',
  'malformed_signature',
  'bad_signature',
  'expired_signature',
  'scope_mismatch',
]);

/** Routes that move bytes or verify them: counted while they run. */
const TRANSFER_ROUTES = new Set([
  'PUT /upload/part',
  'PUT /:type/upload/single',
  'POST /:type/upload/multipart/complete',
  'POST /:type/upload/single/complete',
]);

const COMPLETES: Readonly<Record<string, string>> = {
  'POST /:type/upload/multipart/complete': 'multipart',
  'POST /:type/upload/single/complete': 'single',
  'PUT /:type/upload/single': 'single',
};

/** BSS's metrics, in a registry of its own (one per app). */
export interface BssMetrics extends RequestMetrics {
  received: Counter<'route'>;
  served: Counter;
  parts: Counter;
  partUrls: Counter;
  completes: Counter<'kind' | 'outcome'>;
  verifySeconds: Histogram<'kind' | 'outcome'>;
  signatureRefusals: Counter<'code'>;
  uploadsOpened: Counter;
  uploadsFinished: Counter<'outcome'>;
  inFlight: Gauge<'route'>;
  unsigned: Counter<'route'>;
  s3Errors: Counter<'operation' | 'error'>;
  s3Retries: Counter<'operation'>;
}

export function createBssMetrics(): BssMetrics {
  const base = createRequestMetrics(LATENCY_BUCKETS);
  const registers = [base.registry];
  return {
    ...base,
    received: new Counter({
      name: 'dreamlake_bss_received_bytes_total',
      help: 'Body bytes of part and single-shot PUTs BSS stored (disk backend; with S3 they go to the bucket)',
      labelNames: ['route'],
      registers,
    }),
    served: new Counter({
      name: 'dreamlake_bss_served_bytes_total',
      help: 'Blob bytes BSS sent to downloads (disk backend; with S3 downloads are redirected to the bucket)',
      registers,
    }),
    parts: new Counter({
      name: 'dreamlake_bss_parts_received_total',
      help: 'Parts stored by PUT /upload/part',
      registers,
    }),
    partUrls: new Counter({ name: 'dreamlake_bss_part_urls_total', help: 'Part URLs handed out by /parts', registers }),
    completes: new Counter({
      name: 'dreamlake_bss_completes_total',
      help: 'Completes (multipart, or single-shot) by outcome: ok or the refusal code (hash_mismatch, invalid_part, …)',
      labelNames: ['kind', 'outcome'],
      registers,
    }),
    verifySeconds: new Histogram({
      name: 'dreamlake_bss_complete_duration_seconds',
      help: 'Time to assemble, hash and publish a blob: the whole complete request, by kind and outcome',
      labelNames: ['kind', 'outcome'],
      buckets: VERIFY_BUCKETS,
      registers,
    }),
    signatureRefusals: new Counter({
      name: 'dreamlake_bss_signature_refusals_total',
      help: 'Requests refused for their signature or scope, by code',
      labelNames: ['code'],
      registers,
    }),
    uploadsOpened: new Counter({
      name: 'dreamlake_bss_uploads_opened_total',
      help: 'Multipart uploads opened (init answered)',
      registers,
    }),
    uploadsFinished: new Counter({
      name: 'dreamlake_bss_uploads_finished_total',
      help: 'Multipart uploads finished, by outcome: completed or aborted',
      labelNames: ['outcome'],
      registers,
    }),
    inFlight: new Gauge({
      name: 'dreamlake_bss_transfers_in_flight',
      help: 'Part and single-shot PUTs and completes running now, by route',
      labelNames: ['route'],
      registers,
    }),
    unsigned: new Counter({
      name: 'dreamlake_bss_unsigned_uploads_total',
      help: 'Upload requests served without a signature (REQUIRE_PRESIGNED_UPLOADS=false), by route',
      labelNames: ['route'],
      registers,
    }),
    s3Errors: new Counter({
      name: 'dreamlake_bss_s3_errors_total',
      help: 'Attempts of requests to S3 that failed for S3 itself (throttled, 5xx, reset, timed out), by operation and error',
      labelNames: ['operation', 'error'],
      registers,
    }),
    s3Retries: new Counter({
      name: 'dreamlake_bss_s3_retries_total',
      help: 'Requests to S3 sent again after a failed attempt, by operation',
      labelNames: ['operation'],
      registers,
    }),
  };
}

const lengthOf = (value: unknown) => {
  const n = Number(Array.isArray(value) ? value[0] : value);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
};

/** Counts one answered request into the transfer, upload and refusal metrics (the kit counts the request itself). */
export function recordBssRequest(metrics: BssMetrics, sample: RequestSample): void {
  const { method, route, status, outcome, seconds, request, reply } = sample;
  if (SIGNATURE_CODES.has(outcome)) metrics.signatureRefusals.inc({ code: outcome });
  const key = `${method} ${route}`;
  const kind = COMPLETES[key];
  if (kind) {
    metrics.completes.inc({ kind, outcome });
    metrics.verifySeconds.observe({ kind, outcome }, seconds);
  }
  if (status >= 300) return;
  if (route.startsWith('/:type/upload/multipart/') && request.presign === null) metrics.unsigned.inc({ route });
  switch (key) {
    case 'PUT /upload/part':
      metrics.parts.inc();
      metrics.received.inc({ route }, lengthOf(request.headers['content-length']));
      break;
    case 'PUT /:type/upload/single':
      metrics.received.inc({ route }, lengthOf(request.headers['content-length']));
      break;
    case 'POST /:type/upload/multipart/parts':
      metrics.partUrls.inc((request.body as { partNumbers?: unknown[] } | null)?.partNumbers?.length ?? 0);
      break;
    case 'POST /:type/upload/multipart/init':
      metrics.uploadsOpened.inc();
      break;
    case 'POST /:type/upload/multipart/complete':
      metrics.uploadsFinished.inc({ outcome: 'completed' });
      break;
    case 'POST /:type/upload/multipart/abort':
      metrics.uploadsFinished.inc({ outcome: 'aborted' });
      break;
    case 'GET /blobs/download':
      metrics.served.inc(lengthOf(reply.getHeader('content-length')));
      break;
  }
}

/** Keeps the in-flight gauge: up when a transfer route starts, down when its connection answers or drops. */
export function countTransfers(app: FastifyInstance, metrics: BssMetrics): void {
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined || !TRANSFER_ROUTES.has(`${request.method} ${route}`)) return;
    metrics.inFlight.inc({ route });
    reply.raw.once('close', () => metrics.inFlight.dec({ route }));
  });
}

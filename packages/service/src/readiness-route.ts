import { DreamLakeError, type ErrorCode } from '@dreamlake/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { probeDrain } from './drain.ts';
import type { RouteDoc } from './openapi.ts';

/** Each check by name: ok, or failed. */
export type ReadinessChecks = Record<string, 'ok' | 'failed'>;

export interface ReadinessRouteOptions {
  /** What the service needs to serve (its database, its storage), each checked. */
  check(): Promise<ReadinessChecks>;
  /** The code and message of the 503 when a check failed or the service drains. */
  code: ErrorCode;
  message: string;
  /** What the OpenAPI document says the route checks (`Ready: the database answers …`). */
  summary?: string;
}

const readinessAnswer = z.object({ ok: z.boolean(), checks: z.record(z.string(), z.enum(['ok', 'failed'])) });

/**
 * `GET /readyz`: 200 `{ ok: true, checks }` while every check passes; 503 with the code and the
 * checks (`{ accepting: 'failed' }` from SIGTERM on, see drain.ts) otherwise, so a balancer sends
 * elsewhere.
 */
export function registerReadinessRoute(app: FastifyInstance, options: ReadinessRouteOptions): void {
  const doc: RouteDoc = {
    summary: options.summary ?? `Ready: every check passes (503 ${options.code} when one fails, or when draining)`,
    tags: ['operations'],
    auth: 'none',
    responses: { 200: readinessAnswer },
    errors: [options.code],
  };
  app.get('/readyz', { config: { doc } }, async () => {
    if (probeDrain(app.server)) {
      throw new DreamLakeError(options.code, 'shutting down: finishing the requests in flight', {
        checks: { accepting: 'failed' },
      });
    }
    const checks = await options.check();
    if (Object.values(checks).some((state) => state !== 'ok')) {
      throw new DreamLakeError(options.code, options.message, { checks });
    }
    return { ok: true, checks };
  });
}

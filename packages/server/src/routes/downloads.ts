import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.ts';

/** Routes that hand out download grants for many files at once. */
export function downloadRoutes(_app: FastifyInstance, _ctx: ServerContext): void {}

import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.ts';

/** The web uploader's page and its static assets. */
export function webRoutes(_app: FastifyInstance, _ctx: ServerContext): void {}

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { OPENAPI_ROUTE_DOC, openApiDocument } from './openapi.ts';

export interface ApiDocsOptions {
  /** The document's title (`DreamLake server`). */
  title: string;
  /** What the service is, in a sentence or two. */
  description: string;
  /** Whether the browsable page is served at `/docs` (dev mode, or API_DOCS_UI). */
  ui: boolean;
}

/**
 * The OpenAPI document at `/openapi.json` (always), and a browsable page at `/docs` when `ui`.
 * Register before the routes, after `describeRoutes`.
 */
export async function registerApiDocs(app: FastifyInstance, options: ApiDocsOptions): Promise<void> {
  await app.register(swagger, openApiDocument(options.title, options.description));
  if (options.ui) await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { doc: OPENAPI_ROUTE_DOC } }, async () => app.swagger());
}

import { OPENAPI_ROUTE_DOC, openApiDocument } from '@dreamlake/service';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * The OpenAPI document at `/openapi.json` (always), and a browsable page at `/docs` when `ui`
 * (dev mode, or API_DOCS_UI). Register before the routes, after `describeRoutes`.
 */
export async function registerApiDocs(app: FastifyInstance, ui: boolean): Promise<void> {
  await app.register(
    swagger,
    openApiDocument(
      'DreamLake blob storage service (BSS)',
      'Uploads and downloads behind URLs the server signs. Errors answer `{ error: { code, message } }`.',
    ),
  );
  if (ui) await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { doc: OPENAPI_ROUTE_DOC } }, async () => app.swagger());
}

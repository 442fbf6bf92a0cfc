import { type ErrorCode, STATUS_BY_CODE } from '@dreamlake/protocol';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { type ZodType, z } from 'zod';

/** How a route authenticates; each maps to a security scheme of the document. */
export type RouteAuth = 'none' | 'bearer' | 'presigned' | 'metricsToken';

/** A body that is not JSON: its media type and a word on what it holds. */
export interface RawContent {
  mediaType: string;
  description: string;
}

/** One route as the OpenAPI document describes it, from the zod schemas its handler validates with. */
export interface RouteDoc {
  summary: string;
  tags: readonly string[];
  auth: RouteAuth;
  params?: ZodType;
  query?: ZodType;
  headers?: ZodType;
  body?: ZodType | RawContent;
  /** Answers by status: a JSON schema, a raw body, or a description for an empty answer. */
  responses: Readonly<Record<number, ZodType | RawContent | string>>;
  /** The error codes the route may answer; each becomes a response under its status. */
  errors?: readonly ErrorCode[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * What the OpenAPI document says of this route, given where the route is registered:
     * `app.get(url, { config: { doc } }, handler)`. A route without one is reported undescribed.
     */
    doc?: RouteDoc;
  }
}

/** `/openapi.json` as the document describes itself. */
export const OPENAPI_ROUTE_DOC: RouteDoc = {
  summary: 'This document',
  tags: ['operations'],
  auth: 'none',
  responses: { 200: 'OpenAPI 3.1 JSON' },
};

/** The error shape every failure answers (see error-handler.ts). */
export const errorBodySchema = z.object({
  error: z.looseObject({
    code: z.enum(Object.keys(STATUS_BY_CODE) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
  }),
});

type JsonSchema = Record<string, unknown>;

/** A zod schema as JSON Schema (2020-12, as OpenAPI 3.1 takes it), as clients send it or see it. */
export function jsonSchemaOf(schema: ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete json.$schema;
  return json;
}

function isRaw(value: unknown): value is RawContent {
  return typeof value === 'object' && value !== null && 'mediaType' in value;
}

function rawBody(raw: RawContent): JsonSchema {
  return {
    description: raw.description,
    content: { [raw.mediaType]: { schema: { type: 'string', format: 'binary' } } },
  };
}

/** The error codes of a route grouped under their statuses, each with the error shape. */
function errorResponses(codes: readonly ErrorCode[]): Record<number, JsonSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = STATUS_BY_CODE[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const body = jsonSchemaOf(errorBodySchema, 'output');
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [status, { ...body, description: `error codes: ${list.join(', ')}` }]),
  );
}

const SECURITY: Record<RouteAuth, readonly Record<string, string[]>[]> = {
  none: [],
  bearer: [{ bearer: [] }],
  presigned: [{ presigned: [] }],
  metricsToken: [{ metricsToken: [] }, {}],
};

/** The Fastify route schema a RouteDoc stands for (read by @fastify/swagger, never validated). */
export function routeSchema(doc: RouteDoc): Record<string, unknown> {
  const response: Record<number, JsonSchema> = { ...errorResponses(doc.errors ?? []) };
  for (const [status, answer] of Object.entries(doc.responses)) {
    if (typeof answer === 'string') response[Number(status)] = { description: answer };
    else if (isRaw(answer)) response[Number(status)] = rawBody(answer);
    else response[Number(status)] = { ...jsonSchemaOf(answer, 'output'), description: 'success' };
  }
  const schema: Record<string, unknown> = {
    summary: doc.summary,
    tags: [...doc.tags],
    security: SECURITY[doc.auth],
    response,
  };
  if (doc.params) schema.params = jsonSchemaOf(doc.params, 'input');
  if (doc.query) schema.querystring = jsonSchemaOf(doc.query, 'input');
  if (doc.headers) schema.headers = jsonSchemaOf(doc.headers, 'input');
  if (doc.body && isRaw(doc.body)) {
    schema.body = rawBody(doc.body);
    schema.consumes = [doc.body.mediaType];
  } else if (doc.body) schema.body = jsonSchemaOf(doc.body, 'input');
  return schema;
}

/** `METHOD /url` for each method of a route. */
function keysOf(route: RouteOptions): string[] {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  return methods.map((method) => `${method} ${route.url}`);
}

export interface RouteCatalog {
  /** `METHOD /url` of every route registered after `describeRoutes`, documentation pages aside. */
  readonly registered: readonly string[];
  /** Those registered without a doc: they are left out of the document until they have one. */
  readonly undescribed: readonly string[];
}

/** Checks nothing: the handler validates (`parseOrThrow`). */
const documentationOnly = () => (value: unknown) => ({ value });
/** What Fastify does without a response schema. */
const plainJson = () => (data: unknown) => JSON.stringify(data);

/**
 * Fills each route's schema from the doc it was registered with (`config.doc`), for
 * @fastify/swagger to read. Handlers validate their own input (`parseOrThrow`), so these schemas
 * only document: the route gets a validator that checks nothing and the plain JSON serializer. A
 * route that brings a schema of its own keeps it (and its validation); its doc adds only its
 * summary, tags and authentication. Call before any route is registered.
 */
export function describeRoutes(app: FastifyInstance): RouteCatalog {
  const registered: string[] = [];
  const undescribed: string[] = [];
  app.addHook('onRoute', (route) => {
    // Documentation pages, and the HEAD Fastify derives from each GET (the document has the GET).
    if ((route.schema as { hide?: boolean } | undefined)?.hide || route.method === 'HEAD') return;
    const keys = keysOf(route);
    registered.push(...keys);
    // A route declared for several methods (GET and HEAD) has one doc for them all.
    const doc = route.config?.doc;
    if (!doc) {
      undescribed.push(...keys);
      return;
    }
    const described = routeSchema(doc);
    if (route.schema) {
      const { summary, tags, security } = described;
      route.schema = { summary, tags, security, ...route.schema } as RouteOptions['schema'];
      return;
    }
    route.schema = described;
    route.validatorCompiler = documentationOnly;
    route.serializerCompiler = plainJson;
  });
  return { registered, undescribed };
}

/** The document's frame for @fastify/swagger: OpenAPI 3.1, our three ways to authenticate. */
export function openApiDocument(title: string, description: string) {
  return {
    openapi: {
      openapi: '3.1.0',
      info: { title, description, version: '1' },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http' as const,
            scheme: 'bearer',
            description: 'A session JWT from /auth/login or /auth/signup, or a personal access token (dlk_…).',
          },
          presigned: {
            type: 'apiKey' as const,
            in: 'query' as const,
            name: 'sig',
            description:
              'A URL the server signed: `exp` (Unix seconds) and `sig` (HMAC-SHA256, 64 hex digits) over the action and the signed query parameters; see docs/protocol.md.',
          },
          metricsToken: {
            type: 'http' as const,
            scheme: 'bearer',
            description: 'METRICS_TOKEN, when the service is configured with one.',
          },
        },
      },
    },
  };
}

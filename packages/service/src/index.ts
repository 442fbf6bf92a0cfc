export {
  type DrainOptions,
  type DrainResult,
  type DrainTimes,
  drain,
  exitOnSignals,
  probeDrain,
  type Stoppable,
  stoppable,
  trackRequests,
  WATCHED_WITHIN_MS,
} from './drain.ts';
export {
  type ErrorBody,
  errorBody,
  frameworkErrors,
  registerErrorHandling,
  toDreamLakeError,
} from './error-handler.ts';
export { loggerOptions, redactUrl } from './logging.ts';
export { type MetricsRouteOptions, registerMetricsRoute } from './metrics-route.ts';
export { observeRequests, type RequestSample, routeOf } from './observe.ts';
export {
  describeRoutes,
  errorBodySchema,
  jsonSchemaOf,
  OPENAPI_ROUTE_DOC,
  openApiDocument,
  type RawContent,
  type RouteAuth,
  type RouteCatalog,
  type RouteDoc,
  routeSchema,
} from './openapi.ts';
export { type PresignGuardOptions, presignGuard } from './presign-guard.ts';
export { echoRequestIds, REQUEST_ID_HEADER, requestIdOf, requestIdOptions } from './request-id.ts';
export { parseOrThrow } from './validate.ts';

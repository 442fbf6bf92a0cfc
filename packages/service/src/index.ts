export { type AppOptions, createApp, type HttpTimeouts } from './create-app.ts';
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
export { ConfigError, flag, httpUrl, int, list, readEnv, withoutEmpty } from './env.ts';
export {
  type ErrorBody,
  errorBody,
  frameworkErrors,
  registerErrorHandling,
  toDreamLakeError,
} from './error-handler.ts';
export { loggerOptions, redactUrl } from './logging.ts';
export { type MainOptions, runMain } from './main.ts';
export { type MetricsRouteOptions, registerMetricsRoute } from './metrics-route.ts';
export { type ObservabilityOptions, registerObservability } from './observability.ts';
export { observeRequests, type RequestSample, routeOf } from './observe.ts';
export {
  describeRoutes,
  errorBodySchema,
  jsonSchemaOf,
  openApiDocument,
  type RawContent,
  type RouteAuth,
  type RouteCatalog,
  type RouteDoc,
  routeSchema,
} from './openapi.ts';
export { type PeriodicJob, type PeriodicOptions, runPeriodically } from './periodic.ts';
export { type PresignGuardOptions, presignGuard } from './presign-guard.ts';
export { type ReadinessChecks, type ReadinessRouteOptions, registerReadinessRoute } from './readiness-route.ts';
export { echoRequestIds, REQUEST_ID_HEADER, requestIdOf, requestIdOptions } from './request-id.ts';
export { createRequestMetrics, type RequestMetrics } from './request-metrics.ts';
export { type RunningService, type StartOptions, serviceUrl, startService } from './start.ts';
export { parseOrThrow } from './validate.ts';

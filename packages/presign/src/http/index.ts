export { presignGuard, type PresignGuardOptions } from './presign-guard.ts';
export { registerErrorHandling, frameworkErrors, toDreamLakeError, errorBody, type ErrorBody } from './error-handler.ts';
export { loggerOptions, redactUrl } from './logging.ts';
export { parseOrThrow } from './validate.ts';

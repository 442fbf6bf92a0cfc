export {
  type ErrorBody,
  errorBody,
  frameworkErrors,
  registerErrorHandling,
  toDreamLakeError,
} from './error-handler.ts';
export { loggerOptions, redactUrl } from './logging.ts';
export { type PresignGuardOptions, presignGuard } from './presign-guard.ts';
export { parseOrThrow } from './validate.ts';

/**
 * The CLI's failures. Each prints as one line; `exitCode` is 1 for failures and 2 for usage
 * errors.
 */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** The command line itself is wrong (exit code 2). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** A service answered with an error: its HTTP status and, when it sent one, its code and message. */
export class ApiError extends CliError {
  readonly status: number;
  readonly code: string;
  /** Seconds the service asked us to wait (Retry-After), when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, code: string, message: string, retryAfterSeconds?: number) {
    super(`${code}: ${message} (HTTP ${status})`);
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The request never got an answer (refused, reset, timed out). */
export class NetworkError extends CliError {
  override readonly cause: unknown;

  constructor(url: string, cause: unknown) {
    const reason = (cause as { code?: string; message?: string })?.code ?? (cause as Error)?.message ?? String(cause);
    super(`cannot reach ${new URL(url).origin}: ${reason}`);
    this.cause = cause;
  }
}

/** One line for any thrown value: never a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}

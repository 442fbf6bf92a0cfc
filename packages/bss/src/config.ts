import { MAX_LIFETIME_SECONDS } from '@dreamlake/presign';
import { FLAG_PROBLEM, MIN_SECRET_BYTES, parseFlag, secretProblem } from '@dreamlake/protocol';
import { z } from 'zod';

/** The S3 backend's settings (required when `STORAGE=s3`). */
export interface S3Config {
  endpoint: string | undefined;
  region: string;
  bucket: string;
  forcePathStyle: boolean;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  /** Tries of one S3 request before it fails (SlowDown, 5xx, resets and timeouts are retried). */
  maxAttempts: number;
  /** A request to S3 silent this long (nothing sent or received) is dropped and retried. */
  timeoutMs: number;
}

/** How long a client may take over each stage of a request before its connection is dropped. */
export interface HttpTimeouts {
  /** Until the request's headers are all in. */
  headersMs: number;
  /** Until the whole request, headers and body, is in; 0 for no limit. */
  requestMs: number;
  /** A connection silent in both directions this long is dropped (a complete lifts it). */
  idleMs: number;
  /** How long an idle keep-alive connection is kept between requests. */
  keepAliveMs: number;
}

export interface BssConfig {
  devMode: boolean;
  /** Active presign secrets; the first signs, any verifies. */
  secrets: readonly string[];
  host: string;
  port: number;
  /** BSS's own public base URL, put into the part URLs it mints. */
  publicUrl: string;
  dataDir: string;
  presignTtlSeconds: number;
  /** Seconds BSS's clock may be off from the server's either way: signed URLs are checked with this leeway. */
  clockSkewSeconds: number;
  requirePresignedUploads: boolean;
  storage: 'fs' | 's3';
  s3: S3Config | undefined;
  /** Allowed browser origins; `['*']` allows any. */
  corsOrigins: readonly string[];
  staleUploadHours: number;
  /**
   * A blob the server asks to delete (no index entry points at it) is deleted only when it was
   * published longer ago than this: at least twice PRESIGN_TTL_SECONDS, so no grant or receipt
   * that could still name it is alive.
   */
  blobGcGraceSeconds: number;
  /** How often stale uploads are swept; 0 turns the periodic sweep off. */
  sweepIntervalSeconds: number;
  logLevel: string;
  timeouts: HttpTimeouts;
  /** On SIGTERM: how long /readyz fails before the listener closes, and how long the whole drain may take. */
  shutdown: { delayMs: number; graceMs: number };
  /** The bearer token `/metrics` asks for; null serves it to anyone who reaches the port. */
  metricsToken: string | null;
  /** Whether the browsable API page is served at `/docs` (`/openapi.json` always is). */
  apiDocsUi: boolean;
}

/** On/off settings, read the same way by both services (the protocol's words; empty is unset). */
const flag = z.string().transform((value, ctx) => {
  const on = parseFlag(value);
  if (on === null) {
    ctx.addIssue({ code: 'custom', message: FLAG_PROBLEM });
    return z.NEVER;
  }
  return on;
});

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envSchema = z.object({
  DREAMLAKE_DEV: flag.optional(),
  PRESIGN_SECRETS: z.string().optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  BSS_PORT: intIn(0, 65535).default(10234),
  BSS_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  DREAMLAKE_DATA_DIR: z.string().min(1).default('./.dreamlake-data'),
  PRESIGN_TTL_SECONDS: intIn(1, MAX_LIFETIME_SECONDS).default(3600),
  CLOCK_SKEW_SECONDS: intIn(0, 3600).default(300),
  REQUIRE_PRESIGNED_UPLOADS: flag.default(true),
  STORAGE: z.enum(['fs', 's3']).default('fs'),
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: flag.default(false),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_MAX_ATTEMPTS: intIn(1, 20).default(5),
  S3_TIMEOUT_SECONDS: intIn(1, 3600).default(120),
  CORS_ORIGINS: z.string().optional(),
  STALE_UPLOAD_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 365)
    .default(7 * 24),
  SWEEP_INTERVAL_SECONDS: intIn(0, 7 * 24 * 3600).default(3600),
  BLOB_GC_GRACE_SECONDS: intIn(1, 365 * 24 * 3600).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HEADERS_TIMEOUT_SECONDS: intIn(1, 3600).default(30),
  // A 5 GiB part or single-shot body over a slow link takes a while.
  REQUEST_TIMEOUT_SECONDS: intIn(0, 7 * 24 * 3600).default(3600),
  IDLE_TIMEOUT_SECONDS: intIn(1, 24 * 3600).default(600),
  KEEP_ALIVE_TIMEOUT_SECONDS: intIn(1, 3600).default(72),
  SHUTDOWN_GRACE_SECONDS: intIn(1, 3600).default(25),
  SHUTDOWN_DELAY_SECONDS: intIn(0, 3600).default(5),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  API_DOCS_UI: flag.optional(),
});

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Empty strings count as unset, as shells and .env files tend to produce them. */
function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') out[key] = value;
  return out;
}

/**
 * Reads BSS's configuration from an environment (SPEC §6), validates it and freezes it.
 * Throws ConfigError naming every bad variable; never echoes a secret.
 */
export function loadBssConfig(env: NodeJS.ProcessEnv): BssConfig {
  const parsed = envSchema.safeParse(withoutEmpty(env));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid BSS configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  const devMode = e.DREAMLAKE_DEV ?? false;

  if (e.SHUTDOWN_DELAY_SECONDS > e.SHUTDOWN_GRACE_SECONDS) {
    throw new ConfigError('SHUTDOWN_DELAY_SECONDS must not be longer than SHUTDOWN_GRACE_SECONDS');
  }
  if (e.REQUEST_TIMEOUT_SECONDS > 0 && e.HEADERS_TIMEOUT_SECONDS > e.REQUEST_TIMEOUT_SECONDS) {
    throw new ConfigError('HEADERS_TIMEOUT_SECONDS must not be longer than REQUEST_TIMEOUT_SECONDS');
  }

  const blobGcGraceSeconds = e.BLOB_GC_GRACE_SECONDS ?? Math.max(24 * 3600, 2 * e.PRESIGN_TTL_SECONDS);
  if (blobGcGraceSeconds < 2 * e.PRESIGN_TTL_SECONDS) {
    throw new ConfigError('BLOB_GC_GRACE_SECONDS must be at least twice PRESIGN_TTL_SECONDS');
  }

  const secrets = list(e.PRESIGN_SECRETS);
  if (secrets.length === 0) throw new ConfigError('PRESIGN_SECRETS is required (comma-separated list of secrets)');
  if (!devMode && secrets.some((s) => secretProblem(s) !== null)) {
    throw new ConfigError(`every PRESIGN_SECRETS entry must be at least ${MIN_SECRET_BYTES} bytes outside dev mode`);
  }

  let s3: S3Config | undefined;
  if (e.STORAGE === 's3') {
    if (!e.S3_BUCKET) throw new ConfigError('S3_BUCKET is required when STORAGE=s3');
    if ((e.AWS_ACCESS_KEY_ID === undefined) !== (e.AWS_SECRET_ACCESS_KEY === undefined)) {
      throw new ConfigError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
    }
    s3 = Object.freeze({
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION,
      bucket: e.S3_BUCKET,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
      accessKeyId: e.AWS_ACCESS_KEY_ID,
      secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
      maxAttempts: e.S3_MAX_ATTEMPTS,
      timeoutMs: e.S3_TIMEOUT_SECONDS * 1000,
    });
  }

  const corsOrigins = e.CORS_ORIGINS === undefined ? (devMode ? ['*'] : []) : list(e.CORS_ORIGINS);
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(`CORS_ORIGINS: "${origin}" is not an origin like https://app.example.com`);
    }
  }

  return Object.freeze({
    devMode,
    secrets: Object.freeze(secrets),
    host: e.HOST,
    port: e.BSS_PORT,
    publicUrl: (e.BSS_PUBLIC_URL ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.BSS_PORT}`).replace(
      /\/+$/,
      '',
    ),
    dataDir: e.DREAMLAKE_DATA_DIR,
    presignTtlSeconds: e.PRESIGN_TTL_SECONDS,
    clockSkewSeconds: e.CLOCK_SKEW_SECONDS,
    requirePresignedUploads: e.REQUIRE_PRESIGNED_UPLOADS,
    storage: e.STORAGE,
    s3,
    corsOrigins: Object.freeze(corsOrigins),
    staleUploadHours: e.STALE_UPLOAD_HOURS,
    blobGcGraceSeconds,
    sweepIntervalSeconds: e.SWEEP_INTERVAL_SECONDS,
    logLevel: e.LOG_LEVEL,
    timeouts: Object.freeze({
      headersMs: e.HEADERS_TIMEOUT_SECONDS * 1000,
      requestMs: e.REQUEST_TIMEOUT_SECONDS * 1000,
      idleMs: e.IDLE_TIMEOUT_SECONDS * 1000,
      keepAliveMs: e.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    }),
    shutdown: Object.freeze({ delayMs: e.SHUTDOWN_DELAY_SECONDS * 1000, graceMs: e.SHUTDOWN_GRACE_SECONDS * 1000 }),
    metricsToken: e.METRICS_TOKEN ?? null,
    apiDocsUi: e.API_DOCS_UI ?? devMode,
  });
}

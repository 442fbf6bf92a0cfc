import { MAX_LIFETIME_SECONDS } from '@dreamlake/presign';
import { MIN_SECRET_BYTES, secretProblem } from '@dreamlake/protocol';
import {
  ConfigError,
  type DrainTimes,
  flag,
  type HttpTimeouts,
  httpUrl,
  int,
  list,
  readEnv,
  serviceUrl,
} from '@dreamlake/service';
import { z } from 'zod';
import type { S3StorageConfig } from './storage/s3/config.ts';

/** The kit's, naming every problem of BSS's configuration. */
export { ConfigError };

/** The name of BSS in ConfigError's message. */
const SERVICE = 'BSS';

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
  s3: S3StorageConfig | undefined;
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
  shutdown: DrainTimes;
  /** The bearer token `/metrics` asks for; null serves it to anyone who reaches the port. */
  metricsToken: string | null;
  /** Whether the browsable API page is served at `/docs` (`/openapi.json` always is). */
  apiDocsUi: boolean;
}

const envSchema = z.object({
  DREAMLAKE_DEV: flag.optional(),
  PRESIGN_SECRETS: list.optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  BSS_PORT: int(0, 65535).default(10234),
  BSS_PUBLIC_URL: httpUrl.optional(),
  DREAMLAKE_DATA_DIR: z.string().min(1).default('./.dreamlake-data'),
  PRESIGN_TTL_SECONDS: int(1, MAX_LIFETIME_SECONDS).default(3600),
  CLOCK_SKEW_SECONDS: int(0, 3600).default(300),
  REQUIRE_PRESIGNED_UPLOADS: flag.default(true),
  STORAGE: z.enum(['fs', 's3']).default('fs'),
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: flag.default(false),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_MAX_ATTEMPTS: int(1, 20).default(5),
  S3_TIMEOUT_SECONDS: int(1, 3600).default(120),
  CORS_ORIGINS: list.optional(),
  STALE_UPLOAD_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 365)
    .default(7 * 24),
  SWEEP_INTERVAL_SECONDS: int(0, 7 * 24 * 3600).default(3600),
  BLOB_GC_GRACE_SECONDS: int(1, 365 * 24 * 3600).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HEADERS_TIMEOUT_SECONDS: int(1, 3600).default(30),
  // A 5 GiB part or single-shot body over a slow link takes a while.
  REQUEST_TIMEOUT_SECONDS: int(0, 7 * 24 * 3600).default(3600),
  IDLE_TIMEOUT_SECONDS: int(1, 24 * 3600).default(600),
  KEEP_ALIVE_TIMEOUT_SECONDS: int(1, 3600).default(72),
  SHUTDOWN_GRACE_SECONDS: int(1, 3600).default(25),
  SHUTDOWN_DELAY_SECONDS: int(0, 3600).default(5),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  API_DOCS_UI: flag.optional(),
});

/**
 * Reads BSS's configuration from an environment (empty values count as unset), validates it and
 * freezes it. Throws one ConfigError naming every variable that breaks its own rule or, when
 * none does, every problem that spans several (as the server's loader does); never echoes a
 * secret.
 */
export function loadBssConfig(env: NodeJS.ProcessEnv): BssConfig {
  const e = readEnv(SERVICE, envSchema, env);
  const devMode = e.DREAMLAKE_DEV ?? false;
  const problems: string[] = [];

  if (e.SHUTDOWN_DELAY_SECONDS > e.SHUTDOWN_GRACE_SECONDS) {
    problems.push('SHUTDOWN_DELAY_SECONDS must not be longer than SHUTDOWN_GRACE_SECONDS');
  }
  if (e.REQUEST_TIMEOUT_SECONDS > 0 && e.HEADERS_TIMEOUT_SECONDS > e.REQUEST_TIMEOUT_SECONDS) {
    problems.push('HEADERS_TIMEOUT_SECONDS must not be longer than REQUEST_TIMEOUT_SECONDS');
  }

  const blobGcGraceSeconds = e.BLOB_GC_GRACE_SECONDS ?? Math.max(24 * 3600, 2 * e.PRESIGN_TTL_SECONDS);
  if (blobGcGraceSeconds < 2 * e.PRESIGN_TTL_SECONDS) {
    problems.push('BLOB_GC_GRACE_SECONDS must be at least twice PRESIGN_TTL_SECONDS');
  }

  const secrets = e.PRESIGN_SECRETS ?? [];
  if (secrets.length === 0) problems.push('PRESIGN_SECRETS is required (comma-separated list of secrets)');
  else if (!devMode && secrets.some((s) => secretProblem(s) !== null)) {
    problems.push(`every PRESIGN_SECRETS entry must be at least ${MIN_SECRET_BYTES} bytes outside dev mode`);
  }

  let s3: S3StorageConfig | undefined;
  if (e.STORAGE === 's3') {
    if (!e.S3_BUCKET) problems.push('S3_BUCKET is required when STORAGE=s3');
    if ((e.AWS_ACCESS_KEY_ID === undefined) !== (e.AWS_SECRET_ACCESS_KEY === undefined)) {
      problems.push('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
    }
    s3 = Object.freeze({
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION,
      bucket: e.S3_BUCKET ?? '',
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
      accessKeyId: e.AWS_ACCESS_KEY_ID,
      secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
      maxAttempts: e.S3_MAX_ATTEMPTS,
      timeoutMs: e.S3_TIMEOUT_SECONDS * 1000,
    });
  }

  const corsOrigins = e.CORS_ORIGINS ?? (devMode ? ['*'] : []);
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      problems.push(`CORS_ORIGINS: "${origin}" is not an origin like https://app.example.com`);
    }
  }
  if (problems.length > 0) throw new ConfigError(SERVICE, problems);

  return Object.freeze({
    devMode,
    secrets: Object.freeze(secrets),
    host: e.HOST,
    port: e.BSS_PORT,
    publicUrl: e.BSS_PUBLIC_URL ?? serviceUrl(e.HOST, e.BSS_PORT),
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

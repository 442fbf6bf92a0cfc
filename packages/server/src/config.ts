import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MAX_LIFETIME_SECONDS } from '@dreamlake/presign';
import { MIN_SECRET_BYTES, parseFlag, secretProblem } from '@dreamlake/protocol';
import {
  ConfigError,
  type DrainTimes,
  flag,
  type HttpTimeouts,
  httpUrl,
  int,
  list,
  readEnv,
  withoutEmpty,
} from '@dreamlake/service';
import { z } from 'zod';

/** The kit's, naming every problem of the server's configuration. */
export { ConfigError, MIN_SECRET_BYTES };
/** Days a share link's use log is kept unless SHARE_USE_LOG_DAYS says otherwise. */
export const SHARE_USE_LOG_DAYS_DEFAULT = 90;

export interface LoginThrottleConfig {
  /** Failed logins for one username from one client (an IPv4 address or IPv6 /64) within the window before that pair is throttled. */
  maxFailuresPerUser: number;
  /** Failed logins for one username from anywhere within the window before clients that have not logged in as them are paced (back-off). */
  maxFailuresPerUserGlobal: number;
  /** Sign-ups from one client (an IPv4 address or IPv6 /64) within the window. */
  maxSignupsPerAddress: number;
  /** Failed logins from one client (an IPv4 address or IPv6 /64) within the window before it is throttled. */
  maxFailuresPerAddress: number;
  windowSeconds: number;
}

export interface ServerConfig {
  devMode: boolean;
  presignSecrets: readonly string[];
  jwtSecret: string;
  jwtTtlSeconds: number;
  /** base64url Ed25519 private seeds (32 bytes): the first signs snapshot receipts, all are published. */
  snapshotSigningKeys: readonly string[];
  /** `postgres://…`, or a SQLite file path (`:memory:` for a throwaway one). */
  databaseUrl: string;
  dataDir: string;
  bssPublicUrl: string;
  /** Where the server itself reaches BSS (stat); the public URL unless set. */
  bssInternalUrl: string;
  host: string;
  port: number;
  presignTtlSeconds: number;
  allowSignup: boolean;
  maxUploadBytes: number;
  /** Bytes of indexed files a namespace may hold; null is unlimited. */
  namespaceQuotaBytes: number | null;
  /** Organisations one user may create. */
  orgsPerUser: number;
  corsOrigins: readonly string[];
  /** Origins besides the server and BSS the web page may send uploads to (an S3 endpoint); CSP connect-src. */
  webConnectOrigins: readonly string[];
  logLevel: string;
  trustProxy: boolean | string;
  /** log2 of the scrypt cost N for new password hashes. */
  scryptLogN: number;
  login: LoginThrottleConfig;
  timeouts: HttpTimeouts;
  /** On SIGTERM: how long /readyz fails before the listener closes, and how long the whole drain may take. */
  shutdown: DrainTimes;
  /**
   * A blob granted but not indexed is collected from BSS once the URLs of its latest grant
   * expired this long ago (at least twice PRESIGN_TTL_SECONDS, the receipt and grant lifetime).
   */
  blobGcGraceSeconds: number;
  /** How often the server looks for such blobs; 0 turns the periodic collection off. */
  blobGcIntervalSeconds: number;
  /** A draft of a commit expires this long after its last batch; the collection removes it. */
  draftTtlSeconds: number;
  /** Snapshots older than this (except head) are dropped by the collection; null keeps them all. */
  snapshotRetentionDays: number | null;
  /** The longest a share link may be made to last (a link lasts 7 days, or this if shorter, unless asked). */
  shareMaxSeconds: number;
  /** Days a share link's use log (a row per file handed out) is kept; the link's counts and last use stay. */
  shareUseLogDays: number;
  /** Names of the secrets generated at random because dev mode started without them. */
  generatedSecrets: readonly string[];
  /** The bearer token `/metrics` asks for; null serves it to anyone who reaches the port. */
  metricsToken: string | null;
  /** Whether the browsable API page is served at `/docs` (`/openapi.json` always is). */
  apiDocsUi: boolean;
}

/** The server's name in ConfigError's message. */
const SERVICE = 'server';

const envSchema = z.object({
  DREAMLAKE_DEV: flag.default(false),
  PRESIGN_SECRETS: list.optional(),
  JWT_SECRET: z.string().optional(),
  SNAPSHOT_SIGNING_KEYS: list.optional(),
  JWT_TTL_SECONDS: int(60, 30 * 24 * 3600).default(12 * 3600),
  DATABASE_URL: z.string().optional(),
  DREAMLAKE_DATA_DIR: z.string().min(1).default('./.dreamlake-data'),
  BSS_PUBLIC_URL: httpUrl.default('http://127.0.0.1:10234'),
  BSS_INTERNAL_URL: httpUrl.optional(),
  SERVER_PORT: int(0, 65535).default(10233),
  HOST: z.string().min(1).default('127.0.0.1'),
  PRESIGN_TTL_SECONDS: int(1, MAX_LIFETIME_SECONDS).default(3600),
  ALLOW_SIGNUP: flag.optional(),
  MAX_UPLOAD_BYTES: int(1, Number.MAX_SAFE_INTEGER).default(5 * 1024 ** 4),
  NAMESPACE_QUOTA_BYTES: int(0, Number.MAX_SAFE_INTEGER).optional(),
  ORGS_PER_USER: int(0, 1_000_000).default(10),
  CORS_ORIGINS: list.default([]),
  WEB_CONNECT_ORIGINS: list.default([]),
  LOG_LEVEL: z.enum(['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  TRUST_PROXY: z.string().default('false'),
  SCRYPT_LOG_N: int(10, 20).default(17),
  LOGIN_MAX_FAILURES_PER_USER: int(1, 1_000_000).default(10),
  LOGIN_MAX_FAILURES_PER_ADDRESS: int(1, 1_000_000).default(50),
  LOGIN_MAX_FAILURES_PER_USER_GLOBAL: int(1, 1_000_000).default(100),
  SIGNUP_MAX_PER_ADDRESS: int(1, 1_000_000).default(10),
  LOGIN_FAILURE_WINDOW_SECONDS: int(1, 7 * 24 * 3600).default(900),
  HEADERS_TIMEOUT_SECONDS: int(1, 3600).default(30),
  REQUEST_TIMEOUT_SECONDS: int(1, 24 * 3600).default(120),
  IDLE_TIMEOUT_SECONDS: int(1, 24 * 3600).default(120),
  KEEP_ALIVE_TIMEOUT_SECONDS: int(1, 3600).default(72),
  SHUTDOWN_GRACE_SECONDS: int(1, 3600).default(25),
  SHUTDOWN_DELAY_SECONDS: int(0, 3600).default(5),
  BLOB_GC_GRACE_SECONDS: int(1, 365 * 24 * 3600).optional(),
  BLOB_GC_INTERVAL_SECONDS: int(0, 7 * 24 * 3600).default(3600),
  DRAFT_TTL_SECONDS: int(60, 365 * 24 * 3600).default(24 * 3600),
  SNAPSHOT_RETENTION_DAYS: int(1, 100 * 365).optional(),
  SHARE_MAX_SECONDS: int(1, 10 * 365 * 24 * 3600).default(30 * 24 * 3600),
  SHARE_USE_LOG_DAYS: int(1, 100 * 365).default(SHARE_USE_LOG_DAYS_DEFAULT),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  API_DOCS_UI: flag.optional(),
});

/** The database location alone: what the admin command needs. */
export function databaseUrlFrom(env: NodeJS.ProcessEnv): string {
  const set = withoutEmpty(env);
  return set.DATABASE_URL ?? join(set.DREAMLAKE_DATA_DIR ?? './.dreamlake-data', 'server.sqlite');
}

/** Fills in missing secrets in dev mode; elsewhere lists what is missing or short. */
function checkSecrets(config: ServerConfig, problems: string[], generated: string[]): void {
  const short = (s: string) => secretProblem(s) !== null;
  if (config.devMode) {
    if (config.presignSecrets.length === 0) {
      config.presignSecrets = [randomBytes(32).toString('hex')];
      generated.push('PRESIGN_SECRETS');
    }
    if (config.jwtSecret === '') {
      config.jwtSecret = randomBytes(32).toString('hex');
      generated.push('JWT_SECRET');
    }
    if (config.snapshotSigningKeys.length === 0) {
      config.snapshotSigningKeys = [randomBytes(32).toString('base64url')];
      generated.push('SNAPSHOT_SIGNING_KEYS');
    }
    return;
  }
  if (config.presignSecrets.length === 0) problems.push('PRESIGN_SECRETS is missing');
  config.presignSecrets.forEach((s, i) => {
    if (short(s)) problems.push(`PRESIGN_SECRETS: secret #${i + 1} is shorter than ${MIN_SECRET_BYTES} bytes`);
  });
  if (config.jwtSecret === '') problems.push('JWT_SECRET is missing');
  else if (short(config.jwtSecret)) problems.push(`JWT_SECRET is shorter than ${MIN_SECRET_BYTES} bytes`);
  if (config.snapshotSigningKeys.length === 0) problems.push('SNAPSHOT_SIGNING_KEYS is missing');
}

/** Each snapshot signing key must be the base64url of a 32-byte Ed25519 seed. */
function checkSigningKeys(config: ServerConfig, problems: string[]): void {
  config.snapshotSigningKeys.forEach((key, i) => {
    if (!/^[A-Za-z0-9_-]{43}$/.test(key) || Buffer.from(key, 'base64url').length !== 32) {
      problems.push(`SNAPSHOT_SIGNING_KEYS: key #${i + 1} is not the base64url of 32 bytes`);
    }
  });
}

/** A flag word (the protocol's, any case) or empty, else the proxies' addresses. */
function trustProxyFrom(value: string): boolean | string {
  const flag = parseFlag(value);
  if (flag === undefined) return false;
  return flag ?? value.trim();
}

/**
 * Reads and validates the server's configuration once. Throws ConfigError naming every problem
 * (outside dev mode: a missing or short JWT_SECRET or PRESIGN_SECRETS, a missing
 * SNAPSHOT_SIGNING_KEYS; in any mode: a malformed SNAPSHOT_SIGNING_KEYS). The result is frozen.
 */
export function loadServerConfig(
  env: NodeJS.ProcessEnv,
  overrides: Partial<ServerConfig> = {},
): Readonly<ServerConfig> {
  const e = readEnv(SERVICE, envSchema, env);
  const config: ServerConfig = {
    devMode: e.DREAMLAKE_DEV,
    presignSecrets: e.PRESIGN_SECRETS ?? [],
    jwtSecret: e.JWT_SECRET ?? '',
    jwtTtlSeconds: e.JWT_TTL_SECONDS,
    snapshotSigningKeys: e.SNAPSHOT_SIGNING_KEYS ?? [],
    databaseUrl: e.DATABASE_URL ?? join(e.DREAMLAKE_DATA_DIR, 'server.sqlite'),
    dataDir: e.DREAMLAKE_DATA_DIR,
    bssPublicUrl: e.BSS_PUBLIC_URL,
    bssInternalUrl: e.BSS_INTERNAL_URL ?? e.BSS_PUBLIC_URL,
    host: e.HOST,
    port: e.SERVER_PORT,
    presignTtlSeconds: e.PRESIGN_TTL_SECONDS,
    allowSignup: e.ALLOW_SIGNUP ?? e.DREAMLAKE_DEV,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    namespaceQuotaBytes: e.NAMESPACE_QUOTA_BYTES ?? null,
    orgsPerUser: e.ORGS_PER_USER,
    corsOrigins: Object.freeze(e.CORS_ORIGINS),
    webConnectOrigins: Object.freeze(e.WEB_CONNECT_ORIGINS),
    logLevel: e.LOG_LEVEL,
    trustProxy: trustProxyFrom(e.TRUST_PROXY),
    scryptLogN: e.SCRYPT_LOG_N,
    login: {
      maxFailuresPerUser: e.LOGIN_MAX_FAILURES_PER_USER,
      maxFailuresPerAddress: e.LOGIN_MAX_FAILURES_PER_ADDRESS,
      maxFailuresPerUserGlobal: e.LOGIN_MAX_FAILURES_PER_USER_GLOBAL,
      maxSignupsPerAddress: e.SIGNUP_MAX_PER_ADDRESS,
      windowSeconds: e.LOGIN_FAILURE_WINDOW_SECONDS,
    },
    timeouts: {
      headersMs: e.HEADERS_TIMEOUT_SECONDS * 1000,
      requestMs: e.REQUEST_TIMEOUT_SECONDS * 1000,
      idleMs: e.IDLE_TIMEOUT_SECONDS * 1000,
      keepAliveMs: e.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    },
    shutdown: { delayMs: e.SHUTDOWN_DELAY_SECONDS * 1000, graceMs: e.SHUTDOWN_GRACE_SECONDS * 1000 },
    blobGcGraceSeconds: e.BLOB_GC_GRACE_SECONDS ?? Math.max(24 * 3600, 2 * e.PRESIGN_TTL_SECONDS),
    blobGcIntervalSeconds: e.BLOB_GC_INTERVAL_SECONDS,
    draftTtlSeconds: e.DRAFT_TTL_SECONDS,
    snapshotRetentionDays: e.SNAPSHOT_RETENTION_DAYS ?? null,
    shareMaxSeconds: e.SHARE_MAX_SECONDS,
    shareUseLogDays: e.SHARE_USE_LOG_DAYS,
    generatedSecrets: [],
    metricsToken: e.METRICS_TOKEN ?? null,
    apiDocsUi: e.API_DOCS_UI ?? e.DREAMLAKE_DEV,
    ...overrides,
  };
  const problems: string[] = [];
  const generated: string[] = [];
  checkSecrets(config, problems, generated);
  checkSigningKeys(config, problems);
  if (config.timeouts.headersMs > config.timeouts.requestMs) {
    problems.push('HEADERS_TIMEOUT_SECONDS must not be longer than REQUEST_TIMEOUT_SECONDS');
  }
  if (config.shutdown.delayMs > config.shutdown.graceMs) {
    problems.push('SHUTDOWN_DELAY_SECONDS must not be longer than SHUTDOWN_GRACE_SECONDS');
  }
  if (config.blobGcGraceSeconds < 2 * config.presignTtlSeconds) {
    problems.push('BLOB_GC_GRACE_SECONDS must be at least twice PRESIGN_TTL_SECONDS');
  }
  if (problems.length > 0) throw new ConfigError(SERVICE, problems);
  config.generatedSecrets = Object.freeze(generated);
  Object.freeze(config.presignSecrets);
  Object.freeze(config.snapshotSigningKeys);
  Object.freeze(config.login);
  Object.freeze(config.timeouts);
  Object.freeze(config.shutdown);
  return Object.freeze(config);
}

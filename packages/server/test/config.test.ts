import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, databaseUrlFrom, loadServerConfig } from '../src/index.ts';

const LONG = 'x'.repeat(32);
/** A snapshot signing key: the base64url of 32 bytes. */
const SEED = Buffer.alloc(32, 1).toString('base64url');

function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadServerConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  return [];
}

test('outside dev mode, missing or short secrets refuse to load, naming each', () => {
  assert.deepEqual(problemsOf({}), [
    'PRESIGN_SECRETS is missing',
    'JWT_SECRET is missing',
    'SNAPSHOT_SIGNING_KEYS is missing',
  ]);
  assert.deepEqual(
    problemsOf({ PRESIGN_SECRETS: `${LONG},short`, JWT_SECRET: 'y'.repeat(31), SNAPSHOT_SIGNING_KEYS: SEED }),
    ['PRESIGN_SECRETS: secret #2 is shorter than 32 bytes', 'JWT_SECRET is shorter than 32 bytes'],
  );
  assert.deepEqual(problemsOf({ PRESIGN_SECRETS: LONG, JWT_SECRET: LONG, SNAPSHOT_SIGNING_KEYS: SEED }), []);
});

test('snapshot signing keys are base64url 32-byte seeds, the first one signing', () => {
  const base = { PRESIGN_SECRETS: LONG, JWT_SECRET: LONG };
  const other = Buffer.alloc(32, 2).toString('base64url');
  assert.deepEqual(loadServerConfig({ ...base, SNAPSHOT_SIGNING_KEYS: ` ${SEED} , ${other} ` }).snapshotSigningKeys, [
    SEED,
    other,
  ]);
  assert.deepEqual(problemsOf({ ...base, SNAPSHOT_SIGNING_KEYS: `${SEED},${LONG},${SEED}x` }), [
    'SNAPSHOT_SIGNING_KEYS: key #2 is not the base64url of 32 bytes',
    'SNAPSHOT_SIGNING_KEYS: key #3 is not the base64url of 32 bytes',
  ]);
  assert.deepEqual(problemsOf({ DREAMLAKE_DEV: '1', SNAPSHOT_SIGNING_KEYS: 'short' }), [
    'SNAPSHOT_SIGNING_KEYS: key #1 is not the base64url of 32 bytes',
  ]);
});

test('with only its secrets set, every setting takes its default (each key checked) and the result is frozen', () => {
  const config = loadServerConfig({
    PRESIGN_SECRETS: ` ${LONG} , ${LONG}2 `,
    JWT_SECRET: LONG,
    SNAPSHOT_SIGNING_KEYS: SEED,
  });
  // The whole object: a setting added without a default checked here fails this test.
  assert.deepEqual(
    { ...config },
    {
      devMode: false,
      presignSecrets: [LONG, `${LONG}2`],
      jwtSecret: LONG,
      jwtTtlSeconds: 12 * 3600,
      snapshotSigningKeys: [SEED],
      databaseUrl: join('.dreamlake-data', 'server.sqlite'),
      dataDir: './.dreamlake-data',
      bssPublicUrl: 'http://127.0.0.1:10234',
      bssInternalUrl: 'http://127.0.0.1:10234',
      host: '127.0.0.1',
      port: 10233,
      presignTtlSeconds: 3600,
      allowSignup: false,
      maxUploadBytes: 5 * 1024 ** 4,
      namespaceQuotaBytes: null,
      orgsPerUser: 10,
      corsOrigins: [],
      webConnectOrigins: [],
      logLevel: 'info',
      trustProxy: false,
      scryptLogN: 17,
      login: {
        maxFailuresPerUser: 10,
        maxFailuresPerAddress: 50,
        maxFailuresPerUserGlobal: 100,
        maxSignupsPerAddress: 10,
        windowSeconds: 900,
      },
      timeouts: { headersMs: 30_000, requestMs: 120_000, idleMs: 120_000, keepAliveMs: 72_000 },
      shutdown: { delayMs: 5000, graceMs: 25_000 },
      blobGcGraceSeconds: 86_400,
      blobGcIntervalSeconds: 3600,
      draftTtlSeconds: 86_400,
      snapshotRetentionDays: null,
      shareMaxSeconds: 30 * 86_400,
      shareUseLogDays: 90,
      generatedSecrets: [],
      metricsToken: null,
      apiDocsUi: false,
    },
  );
  assert.ok(Object.isFrozen(config));
  assert.throws(() => {
    (config as { port: number }).port = 1;
  });
});

test('dev mode generates missing secrets and opens sign-up by default', () => {
  const config = loadServerConfig({ DREAMLAKE_DEV: '1' });
  assert.equal(config.allowSignup, true);
  assert.equal(config.jwtSecret.length, 64);
  assert.equal(config.presignSecrets.length, 1);
  assert.equal(Buffer.from(config.snapshotSigningKeys[0]!, 'base64url').length, 32);
  assert.deepEqual(config.generatedSecrets, ['PRESIGN_SECRETS', 'JWT_SECRET', 'SNAPSHOT_SIGNING_KEYS']);
  assert.equal(loadServerConfig({ DREAMLAKE_DEV: '1', ALLOW_SIGNUP: 'false' }).allowSignup, false);
});

test('bad values are refused by name', () => {
  const base = { PRESIGN_SECRETS: LONG, JWT_SECRET: LONG, SNAPSHOT_SIGNING_KEYS: SEED };
  for (const [key, value] of [
    ['PRESIGN_TTL_SECONDS', '604801'],
    ['SERVER_PORT', 'http'],
    ['BSS_PUBLIC_URL', 'ftp://x'],
    ['ALLOW_SIGNUP', 'maybe'],
  ]) {
    const problems = problemsOf({ ...base, [key!]: value });
    assert.equal(problems.length, 1, key);
    assert.ok(problems[0]!.startsWith(key!), problems[0]);
  }
  const c = loadServerConfig({
    ...base,
    DATABASE_URL: 'postgres://u@h/db',
    BSS_PUBLIC_URL: 'https://bss.example.com/',
    BSS_INTERNAL_URL: 'http://bss:10234',
    NAMESPACE_QUOTA_BYTES: '1000',
    CORS_ORIGINS: 'https://a.example, https://b.example',
  });
  assert.equal(c.databaseUrl, 'postgres://u@h/db');
  assert.equal(c.bssPublicUrl, 'https://bss.example.com');
  assert.equal(c.bssInternalUrl, 'http://bss:10234');
  assert.equal(c.namespaceQuotaBytes, 1000);
  assert.deepEqual(c.corsOrigins, ['https://a.example', 'https://b.example']);
});

test('an empty variable counts as unset, as on BSS: its default applies', () => {
  const config = loadServerConfig({
    PRESIGN_SECRETS: LONG,
    JWT_SECRET: LONG,
    SNAPSHOT_SIGNING_KEYS: SEED,
    DATABASE_URL: '',
    SERVER_PORT: '',
    DREAMLAKE_DEV: ' ',
    LOG_LEVEL: '',
    METRICS_TOKEN: '',
  });
  assert.equal(config.databaseUrl, join('.dreamlake-data', 'server.sqlite'));
  assert.equal(databaseUrlFrom({ DATABASE_URL: '', DREAMLAKE_DATA_DIR: '' }), config.databaseUrl);
  assert.equal(config.port, 10233);
  assert.equal(config.devMode, false);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.metricsToken, null);
});

test('TRUST_PROXY: any on/off word of the protocol, in any case, is a flag; anything else is the proxies addresses', () => {
  const secrets = { PRESIGN_SECRETS: LONG, JWT_SECRET: LONG, SNAPSHOT_SIGNING_KEYS: SEED };
  const trust = (value: string) => loadServerConfig({ ...secrets, TRUST_PROXY: value }).trustProxy;
  for (const on of ['1', 'true', 'TRUE', 'yes', 'on', ' On ']) assert.equal(trust(on), true, on);
  for (const off of ['0', 'false', 'no', 'off', 'OFF', '']) assert.equal(trust(off), false, off);
  assert.equal(trust('10.0.0.1, 10.0.0.2'), '10.0.0.1, 10.0.0.2');
  assert.equal(trust('10.0.0.0/8'), '10.0.0.0/8');
});

test('LOGIN_* and SIGNUP_MAX_PER_ADDRESS are read into the throttle settings, and out-of-range values are refused by name', () => {
  const secrets = { PRESIGN_SECRETS: LONG, JWT_SECRET: LONG, SNAPSHOT_SIGNING_KEYS: SEED };
  const config = loadServerConfig({
    ...secrets,
    LOGIN_MAX_FAILURES_PER_USER: '3',
    LOGIN_MAX_FAILURES_PER_ADDRESS: '7',
    LOGIN_MAX_FAILURES_PER_USER_GLOBAL: '11',
    SIGNUP_MAX_PER_ADDRESS: '2',
    LOGIN_FAILURE_WINDOW_SECONDS: '60',
  });
  assert.deepEqual(config.login, {
    maxFailuresPerUser: 3,
    maxFailuresPerAddress: 7,
    maxFailuresPerUserGlobal: 11,
    maxSignupsPerAddress: 2,
    windowSeconds: 60,
  });
  for (const [name, value] of [
    ['LOGIN_MAX_FAILURES_PER_USER', '0'],
    ['LOGIN_MAX_FAILURES_PER_ADDRESS', '1.5'],
    ['LOGIN_MAX_FAILURES_PER_USER_GLOBAL', 'many'],
    ['SIGNUP_MAX_PER_ADDRESS', '-1'],
    ['LOGIN_FAILURE_WINDOW_SECONDS', String(7 * 24 * 3600 + 1)],
  ] as const) {
    assert.throws(
      () => loadServerConfig({ ...secrets, [name]: value }),
      (error: Error) => error instanceof ConfigError && error.message.includes(name),
      `${name}=${value}`,
    );
  }
});

import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadBssConfig } from '../src/config.ts';
import { createStorage } from '../src/storage/index.ts';
import { tempDir } from './helpers.ts';

const secret = 'x'.repeat(32);

test('defaults follow the spec and the config is frozen', () => {
  const config = loadBssConfig({ PRESIGN_SECRETS: secret });
  assert.equal(config.port, 10234);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.publicUrl, 'http://127.0.0.1:10234');
  assert.equal(config.dataDir, './.dreamlake-data');
  assert.equal(config.presignTtlSeconds, 3600);
  assert.equal(config.requirePresignedUploads, true);
  assert.equal(config.storage, 'fs');
  assert.equal(config.s3, undefined);
  assert.deepEqual(config.corsOrigins, []);
  assert.equal(config.staleUploadHours, 7 * 24);
  assert.equal(config.logLevel, 'info');
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.secrets));
});

test('variables are read and checked', () => {
  const config = loadBssConfig({
    PRESIGN_SECRETS: `${secret}, ${'y'.repeat(40)}`,
    BSS_PORT: '9000',
    HOST: '0.0.0.0',
    BSS_PUBLIC_URL: 'https://bss.example.com/',
    REQUIRE_PRESIGNED_UPLOADS: 'false',
    CORS_ORIGINS: 'https://app.example.com,http://localhost:3000',
    PRESIGN_TTL_SECONDS: '600',
  });
  assert.deepEqual(config.secrets, [secret, 'y'.repeat(40)]);
  assert.equal(config.port, 9000);
  assert.equal(config.publicUrl, 'https://bss.example.com');
  assert.equal(config.requirePresignedUploads, false);
  assert.deepEqual(config.corsOrigins, ['https://app.example.com', 'http://localhost:3000']);
  assert.equal(config.presignTtlSeconds, 600);
});

test('bad or missing settings are refused with a message that names them, never the secret', () => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{}, /PRESIGN_SECRETS/],
    [{ PRESIGN_SECRETS: 'short-secret' }, /at least 32 bytes/],
    [{ PRESIGN_SECRETS: secret, PRESIGN_TTL_SECONDS: String(8 * 24 * 3600) }, /PRESIGN_TTL_SECONDS/],
    [{ PRESIGN_SECRETS: secret, REQUIRE_PRESIGNED_UPLOADS: 'maybe' }, /REQUIRE_PRESIGNED_UPLOADS/],
    [{ PRESIGN_SECRETS: secret, STORAGE: 'tape' }, /STORAGE/],
    [{ PRESIGN_SECRETS: secret, STORAGE: 's3' }, /S3_BUCKET/],
    [{ PRESIGN_SECRETS: secret, STORAGE: 's3', S3_BUCKET: 'b', AWS_ACCESS_KEY_ID: 'k' }, /AWS_SECRET_ACCESS_KEY/],
    [{ PRESIGN_SECRETS: secret, BSS_PORT: '70000' }, /BSS_PORT/],
    [{ PRESIGN_SECRETS: secret, CORS_ORIGINS: 'not an origin' }, /CORS_ORIGINS/],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => loadBssConfig(env),
      (error: Error) => {
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /short-secret/);
        return true;
      },
    );
  }
});

/** The problems loadBssConfig names for `env`; none when it loads. */
function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadBssConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  return [];
}

test('every bad variable is named at once, not only the first', () => {
  // Two variables that break their own rules.
  const own = problemsOf({ PRESIGN_SECRETS: secret, BSS_PORT: '70000', STORAGE: 'tape' });
  assert.equal(own.length, 2, own.join('; '));
  assert.ok(own.some((p) => p.startsWith('BSS_PORT')));
  assert.ok(own.some((p) => p.startsWith('STORAGE')));
  // Problems across variables: a missing secret, a missing bucket, half a key pair, a bad origin.
  assert.deepEqual(problemsOf({ STORAGE: 's3', AWS_ACCESS_KEY_ID: 'k', CORS_ORIGINS: 'https://ok.example,nope' }), [
    'PRESIGN_SECRETS is required (comma-separated list of secrets)',
    'S3_BUCKET is required when STORAGE=s3',
    'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together',
    'CORS_ORIGINS: "nope" is not an origin like https://app.example.com',
  ]);
  assert.throws(() => loadBssConfig({}), /^ConfigError: invalid BSS configuration: PRESIGN_SECRETS/);
});

test('an empty variable counts as unset: its default applies', () => {
  const config = loadBssConfig({
    PRESIGN_SECRETS: secret,
    BSS_PORT: '',
    DREAMLAKE_DEV: ' ',
    LOG_LEVEL: '',
    CORS_ORIGINS: '',
  });
  assert.equal(config.port, 10234);
  assert.equal(config.devMode, false);
  assert.equal(config.logLevel, 'info');
  assert.deepEqual(config.corsOrigins, []);
});

test('dev mode accepts short secrets and allows any browser origin', () => {
  const config = loadBssConfig({ PRESIGN_SECRETS: 'dev', DREAMLAKE_DEV: 'true' });
  assert.equal(config.devMode, true);
  assert.deepEqual(config.corsOrigins, ['*']);
});

test('STORAGE=s3 collects the S3 settings', () => {
  const config = loadBssConfig({
    PRESIGN_SECRETS: secret,
    STORAGE: 's3',
    S3_ENDPOINT: 'http://127.0.0.1:7480',
    S3_BUCKET: 'dreamlake',
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: 'key',
    AWS_SECRET_ACCESS_KEY: 'secret',
  });
  assert.deepEqual(config.s3, {
    endpoint: 'http://127.0.0.1:7480',
    region: 'us-east-1',
    bucket: 'dreamlake',
    forcePathStyle: true,
    accessKeyId: 'key',
    secretAccessKey: 'secret',
    maxAttempts: 5,
    timeoutMs: 120_000,
  });
});

test('createStorage builds the disk backend by default, under <data dir>/bss', async (t) => {
  const temp = await tempDir();
  t.after(() => temp.remove());
  const storage = await createStorage(loadBssConfig({ PRESIGN_SECRETS: secret, DREAMLAKE_DATA_DIR: temp.dir }));
  assert.equal(storage.kind, 'fs');
  assert.ok((await stat(join(temp.dir, 'bss'))).isDirectory());
  await storage.close();
});

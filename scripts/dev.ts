/**
 * `npm start`: the DreamLake server and BSS together, in dev mode, on the embedded defaults
 * (SQLite and local disk under DREAMLAKE_DATA_DIR, default ./.dreamlake-data). On first start it
 * creates the data folder and keeps generated secrets in `secrets.json` (0600) there, so tokens
 * and signed URLs survive a restart. Ctrl-C (or SIGTERM) closes both.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadBssConfig, startBss } from '@dreamlake/bss';
import { loadServerConfig, startServer } from '@dreamlake/server';

interface DevSecrets {
  jwtSecret: string;
  presignSecret: string;
  /** base64url Ed25519 seed: snapshot receipts of an earlier run still verify. */
  snapshotSigningKey: string;
}

/**
 * The secrets of this data folder, generated (32 random bytes each) on first start; one missing
 * from a file an older version wrote is added to it.
 */
async function devSecrets(dataDir: string): Promise<DevSecrets> {
  const path = join(dataDir, 'secrets.json');
  let saved: Partial<DevSecrets> = {};
  try {
    saved = JSON.parse(await readFile(path, 'utf8')) as Partial<DevSecrets>;
    const complete = [saved.jwtSecret, saved.presignSecret, saved.snapshotSigningKey];
    if (complete.every((s) => typeof s === 'string')) return saved as DevSecrets;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secrets: DevSecrets = {
    jwtSecret: saved.jwtSecret ?? randomBytes(32).toString('hex'),
    presignSecret: saved.presignSecret ?? randomBytes(32).toString('hex'),
    snapshotSigningKey: saved.snapshotSigningKey ?? randomBytes(32).toString('base64url'),
  };
  await writeFile(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return secrets;
}

/** The environment both services are configured from: the caller's, with dev defaults filled in. */
function devEnvironment(env: NodeJS.ProcessEnv, dataDir: string, secrets: DevSecrets): NodeJS.ProcessEnv {
  const host = env.HOST || '127.0.0.1';
  const bssPort = env.BSS_PORT || '10234';
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const serverPort = env.SERVER_PORT || '10233';
  const pageHost = host === '0.0.0.0' ? '127.0.0.1' : urlHost;
  // The web page at the server's address sends its uploads straight to BSS: BSS's CORS allows that origin.
  const pageOrigins = [`http://${pageHost}:${serverPort}`];
  if (pageHost === '127.0.0.1') pageOrigins.push(`http://localhost:${serverPort}`);
  return {
    ...env,
    DREAMLAKE_DATA_DIR: dataDir,
    HOST: host,
    SERVER_PORT: serverPort,
    CORS_ORIGINS: env.CORS_ORIGINS || pageOrigins.join(','),
    BSS_PORT: bssPort,
    BSS_PUBLIC_URL: env.BSS_PUBLIC_URL || `http://${host === '0.0.0.0' ? '127.0.0.1' : urlHost}:${bssPort}`,
    PRESIGN_SECRETS: env.PRESIGN_SECRETS || secrets.presignSecret,
    JWT_SECRET: env.JWT_SECRET || secrets.jwtSecret,
    SNAPSHOT_SIGNING_KEYS: env.SNAPSHOT_SIGNING_KEYS || secrets.snapshotSigningKey,
    DREAMLAKE_DEV: 'true',
    LOG_LEVEL: env.LOG_LEVEL || 'warn',
  };
}

function banner(serverUrl: string, bssUrl: string, storage: string, dataDir: string): string {
  const cli = `npx dreamlake`;
  return [
    '',
    `DreamLake is running in dev mode (data in ${dataDir})`,
    `  server  ${serverUrl}`,
    `  BSS     ${bssUrl}  (storage: ${storage})`,
    '',
    `Web uploader: open ${serverUrl}/ in a browser (sign up there, then drop files or folders).`,
    '',
    'In another shell, from this folder:',
    `  ${cli} signup --server ${serverUrl} --username alice      # first time: creates the account`,
    `  ${cli} login --server ${serverUrl} --username alice       # later: log in again`,
    `  ${cli} upload ./video.mp4 --to alice/first-space`,
    `  ${cli} ls alice/first-space`,
    `  ${cli} download alice/first-space/video.mp4 -o ./video-copy.mp4`,
    '',
    'Request logs: LOG_LEVEL=info npm start. Stop with Ctrl-C.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const dataDir = resolve(process.env.DREAMLAKE_DATA_DIR || './.dreamlake-data');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const env = devEnvironment(process.env, dataDir, await devSecrets(dataDir));

  const bss = await startBss(loadBssConfig(env));
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(loadServerConfig(env));
  } catch (error) {
    await bss.close();
    throw error;
  }
  const storage = env.STORAGE || 'fs';
  process.stdout.write(banner(server.url, bss.url, storage, dataDir));

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`\n${signal}: stopping the server and BSS...\n`);
    Promise.allSettled([server.close(), bss.close()]).then((results) => {
      const failed = results.filter((r) => r.status === 'rejected');
      for (const f of failed) process.stderr.write(`while stopping: ${String((f as PromiseRejectedResult).reason)}\n`);
      process.stderr.write('stopped\n');
      process.exit(failed.length === 0 ? 0 : 1);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`npm start: ${message}\n`);
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    process.stderr.write('a port is taken: is DreamLake already running? (SERVER_PORT and BSS_PORT choose others)\n');
  }
  process.exit(1);
});

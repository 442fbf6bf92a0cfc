/**
 * The soak's services: one server and one BSS as `npm run server` / `npm run bss` run them (the
 * built `dist/`, plain node: no loader in the processes whose memory is measured), on free
 * loopback ports, in a temporary folder, each with its inspector on a loopback port (through
 * which the soak asks for a full collection before it reads a heap at rest). SQLite and the disk backend unless told; a scratch
 * PostgreSQL database on DREAMLAKE_TEST_PG_URL's server, or the S3 bucket of
 * DREAMLAKE_TEST_S3_ENV (a file of `export K=V` lines), when asked.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { readEnvFile } from '../support/env-file.ts';
import { type Child, freePort, ROOT, startCommand, stopChild, waitHealthy } from '../support/process.ts';

const SERVER_MAIN = join(ROOT, 'packages/server/dist/main.js');
const BSS_MAIN = join(ROOT, 'packages/bss/dist/main.js');

export interface SoakServiceOptions {
  /** A scratch database on the PostgreSQL server of this URL instead of SQLite. */
  pgUrl?: string | undefined;
  /** A file of `export K=V` lines naming the S3 bucket (STORAGE=s3) instead of the disk backend. */
  s3EnvFile?: string | undefined;
}

async function runSql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** A scratch database on the server of `adminUrl`, and how to drop it. */
async function scratchDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `dreamlake_soak_${randomBytes(6).toString('hex')}`;
  await runSql(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => runSql(adminUrl, `drop database if exists ${name} with (force)`) };
}

export class SoakServices {
  readonly presignSecret = randomBytes(32).toString('hex');
  readonly jwtSecret = randomBytes(32).toString('hex');
  readonly metricsToken = randomBytes(24).toString('hex');
  readonly serverUrl: string;
  readonly bssUrl: string;
  readonly storage: string;
  readonly database: string;
  /** The inspector ports of the server and BSS (for a full collection at rest: soak-gc.ts). */
  serverInspectorPort = 0;
  bssInspectorPort = 0;
  #server: Child | undefined;
  #bss: Child | undefined;
  #dropDatabase: (() => Promise<void>) | undefined;
  readonly #dir: string;

  private constructor(dir: string, serverPort: number, bssPort: number, storage: string, database: string) {
    this.#dir = dir;
    this.serverUrl = `http://127.0.0.1:${serverPort}`;
    this.bssUrl = `http://127.0.0.1:${bssPort}`;
    this.storage = storage;
    this.database = database;
  }

  static async start(options: SoakServiceOptions): Promise<SoakServices> {
    for (const main of [SERVER_MAIN, BSS_MAIN]) {
      if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
    }
    const dir = await mkdtemp(join(tmpdir(), 'dreamlake-soak-'));
    const [serverPort, bssPort] = [await freePort(), await freePort()];
    const [serverInspector, bssInspector] = [await freePort(), await freePort()];
    const s3: Record<string, string> | undefined = options.s3EnvFile
      ? { ...readEnvFile(options.s3EnvFile), STORAGE: 's3' }
      : undefined;
    const services = new SoakServices(
      dir,
      serverPort,
      bssPort,
      s3 ? `s3 (${s3.S3_ENDPOINT ?? 'AWS'}, bucket ${s3.S3_BUCKET ?? '?'})` : 'disk',
      options.pgUrl ? 'PostgreSQL (scratch database)' : 'SQLite',
    );
    services.serverInspectorPort = serverInspector;
    services.bssInspectorPort = bssInspector;
    try {
      let databaseUrl = join(dir, 'server.sqlite');
      if (options.pgUrl) {
        const scratch = await scratchDatabase(options.pgUrl);
        services.#dropDatabase = scratch.drop;
        databaseUrl = scratch.url;
      }
      const common = {
        HOST: '127.0.0.1',
        PRESIGN_SECRETS: services.presignSecret,
        BSS_PUBLIC_URL: services.bssUrl,
        PRESIGN_TTL_SECONDS: '3600',
        METRICS_TOKEN: services.metricsToken,
        LOG_LEVEL: 'warn',
        // The allocator as the shipped systemd units set it (deploy/systemd); any MALLOC_* of the
        // soak's own environment reaches the services instead (e.g. MALLOC_ARENA_MAX=16 to compare).
        MALLOC_ARENA_MAX: '2',
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MALLOC_'))),
        ...(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED
          ? { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
          : {}),
      };
      services.#bss = startCommand(
        process.execPath,
        ['--enable-source-maps', `--inspect=127.0.0.1:${bssInspector}`, BSS_MAIN],
        {
          keep: 200,
          env: {
            ...common,
            STORAGE: 'fs',
            DREAMLAKE_DATA_DIR: join(dir, 'bss'),
            BSS_PORT: String(bssPort),
            ...s3,
          },
        },
      );
      services.#server = startCommand(
        process.execPath,
        ['--enable-source-maps', `--inspect=127.0.0.1:${serverInspector}`, SERVER_MAIN],
        {
          keep: 200,
          env: {
            ...common,
            BSS_INTERNAL_URL: services.bssUrl,
            DREAMLAKE_DATA_DIR: join(dir, 'server'),
            DATABASE_URL: databaseUrl,
            SERVER_PORT: String(serverPort),
            JWT_SECRET: services.jwtSecret,
            SNAPSHOT_SIGNING_KEYS: randomBytes(32).toString('base64url'),
            ALLOW_SIGNUP: 'true',
            // Many sign-ups from one address in a few minutes.
            SIGNUP_MAX_PER_ADDRESS: '100000',
            SCRYPT_LOG_N: '12',
          },
        },
      );
      await Promise.all([
        waitHealthy(services.#bss, `${services.bssUrl}/healthz`, 'BSS', 60_000),
        waitHealthy(services.#server, `${services.serverUrl}/healthz`, 'server', 60_000),
      ]);
    } catch (error) {
      await services.close();
      throw error;
    }
    return services;
  }

  get serverPid(): number {
    return this.#server?.child.pid ?? 0;
  }

  get bssPid(): number {
    return this.#bss?.child.pid ?? 0;
  }

  /** Whether both processes are still running. */
  running(): { server: boolean; bss: boolean } {
    const alive = (c: Child | undefined) => c !== undefined && c.child.exitCode === null && c.child.signalCode === null;
    return { server: alive(this.#server), bss: alive(this.#bss) };
  }

  logs(): string {
    return `--- server ---\n${this.#server?.output.join('') ?? ''}\n--- BSS ---\n${this.#bss?.output.join('') ?? ''}`;
  }

  /** Kills both at once (an interrupted run). */
  kill(): void {
    this.#server?.child.kill('SIGKILL');
    this.#bss?.child.kill('SIGKILL');
  }

  async close(): Promise<void> {
    await Promise.all([stopChild(this.#server), stopChild(this.#bss)]);
    await this.#dropDatabase?.().catch(() => {});
    await rm(this.#dir, { recursive: true, force: true });
  }
}

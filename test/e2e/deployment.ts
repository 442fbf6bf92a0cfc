/**
 * The deployment in deploy/ as an operator copies it, for the deploy tests: servers on one
 * PostgreSQL and BSS on one bucket, started from the systemd units' command lines with the env
 * file templates (and the site's settings over them), behind HAProxy running
 * deploy/haproxy/dreamlake.cfg.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { readS3TestConfig, S3_SKIP_REASON, type TestBucket } from '../../packages/bss/test/storage-s3-env.ts';
import { type Child, ROOT, startCommand, stopChild } from '../../support/process.ts';
import { GaveUp, waitFor } from '../../support/wait.ts';

export const DEPLOY = join(ROOT, 'deploy');

/** The test S3 server's settings, when there is one. */
export const deployS3 = readS3TestConfig();

/** Why a deployment test cannot run here, or false: it needs HAProxy and an S3 server. */
export const DEPLOY_SKIP: string | false =
  spawnSync('haproxy', ['-v']).status !== 0
    ? 'haproxy is not installed (Debian: apt-get install haproxy; .ci/run installs it)'
    : deployS3
      ? false
      : S3_SKIP_REASON;

/** What an operator puts in place of the templates' METRICS_TOKEN placeholder. */
export const METRICS_TOKEN = 'deploy-test-metrics-token-0123456789';

/** KEY=VALUE lines of an env file, comments and blank lines aside. */
export async function envFile(path: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

/** What a systemd unit runs for one instance: its command line, folder, Environment= lines and stop settings. */
export async function unitCommand(unit: string, instance: string) {
  const text = (await readFile(join(DEPLOY, 'systemd', unit), 'utf8')).replaceAll('%i', instance);
  const value = (key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);
  const [exec] = value('ExecStart');
  const [node, ...args] = exec!.split(/\s+/);
  assert.equal(node, '/usr/bin/node');
  assert.deepEqual(value('WorkingDirectory'), ['/opt/dreamlake']);
  const env = Object.fromEntries(value('Environment').map((kv) => kv.split('=', 2) as [string, string]));
  return {
    args,
    env,
    envFile: value('EnvironmentFile')[0]!,
    killSignal: value('KillSignal')[0],
    timeoutStopSeconds: Number(value('TimeoutStopSec')[0]),
  };
}

export type Proc = Child & { name: string };

export function start(name: string, command: string, args: string[], env: Record<string, string>): Proc {
  return Object.assign(startCommand(command, args, { env }), { name });
}

/** The settings a site fills in for the two services; everything else is the templates' own. */
export function siteSettings(options: { databaseUrl: string; bucket: TestBucket; blobs: string; dataDir: string }): {
  server: Record<string, string>;
  bss: Record<string, string>;
} {
  const { bucket } = options;
  const secrets = { PRESIGN_SECRETS: 'deploy-test-presign-secret-0123456789abcdef', METRICS_TOKEN };
  return {
    server: {
      ...secrets,
      JWT_SECRET: 'deploy-test-jwt-secret-0123456789abcdef012345',
      SNAPSHOT_SIGNING_KEYS: 'deploy-test-snapshot-signing-key-0123456789',
      DATABASE_URL: options.databaseUrl,
      DREAMLAKE_DATA_DIR: join(options.dataDir, 'server'),
      BSS_PUBLIC_URL: options.blobs,
      BSS_INTERNAL_URL: options.blobs,
      ALLOW_SIGNUP: 'true',
      SCRYPT_LOG_N: '12',
    },
    bss: {
      ...secrets,
      BSS_PUBLIC_URL: options.blobs,
      DREAMLAKE_DATA_DIR: join(options.dataDir, 'bss'),
      S3_REGION: bucket.config.region,
      S3_BUCKET: bucket.config.bucket,
      S3_ENDPOINT: bucket.config.endpoint ?? '',
      S3_FORCE_PATH_STYLE: String(bucket.config.forcePathStyle),
      AWS_ACCESS_KEY_ID: bucket.config.accessKeyId ?? '',
      AWS_SECRET_ACCESS_KEY: bucket.config.secretAccessKey ?? '',
    },
  };
}

/** One instance as its unit runs it: started again with the same command line and environment. */
export interface Instance {
  name: string;
  kind: 'server' | 'bss';
  url: string;
  proc: Proc;
  command: { args: string[]; env: Record<string, string> };
  unit: Awaited<ReturnType<typeof unitCommand>>;
}

/** Starts one instance of `kind` on `port` from its unit, env template and the site's settings. */
export async function launch(
  kind: 'server' | 'bss',
  name: string,
  port: number,
  site: Record<string, string>,
): Promise<Instance> {
  const unit = await unitCommand(`dreamlake-${kind}@.service`, String(port));
  assert.equal(unit.envFile, `/etc/dreamlake/${kind}.env`);
  // As systemd does: the unit's Environment= first, the env file over it.
  const template = await envFile(join(DEPLOY, 'env', `${kind}.env.example`));
  const command = { args: unit.args, env: { ...unit.env, ...template, ...site } };
  return {
    name,
    kind,
    url: `http://127.0.0.1:${port}`,
    proc: start(name, process.execPath, command.args, command.env),
    command,
    unit,
  };
}

/** Starts `instance` again as its unit would, after it exited. */
export function relaunch(instance: Instance): void {
  instance.proc = start(instance.name, process.execPath, instance.command.args, instance.command.env);
}

/** The addresses HAProxy's config reads from its environment. */
export function haproxyEnv(apiPort: number, blobPort: number, servers: string[], bsses: string[]) {
  const address = (url: string) => new URL(url).host;
  return {
    DREAMLAKE_API_BIND: `127.0.0.1:${apiPort}`,
    DREAMLAKE_BSS_BIND: `127.0.0.1:${blobPort}`,
    DREAMLAKE_SERVER_1: address(servers[0]!),
    DREAMLAKE_SERVER_2: address(servers[1]!),
    DREAMLAKE_BSS_1: address(bsses[0]!),
    DREAMLAKE_BSS_2: address(bsses[1]!),
  };
}

/**
 * HAProxy on the shipped config, with a second config file that only adds a stats socket at
 * `socket` (the shipped one is left as it is).
 */
export async function startHaproxy(env: Record<string, string>, socket: string, dir: string): Promise<Proc> {
  const stats = join(dir, 'stats.cfg');
  await writeFile(stats, `global\n    stats socket ${socket} mode 600 level admin\n`);
  return start('haproxy', 'haproxy', ['-db', '-f', join(DEPLOY, 'haproxy', 'dreamlake.cfg'), '-f', stats], env);
}

/** One row of HAProxy's `show stat` CSV, by column name. */
export type StatRow = Record<string, string>;

/** A command on HAProxy's stats socket, its whole answer. */
export function haproxyCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket, () => conn.write(`${command}\n`));
    const chunks: Buffer[] = [];
    conn.on('data', (c: Buffer) => chunks.push(c));
    conn.on('error', reject);
    conn.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** `show stat`: a row per frontend, backend and server. */
export async function showStat(socket: string): Promise<StatRow[]> {
  const lines = (await haproxyCommand(socket, 'show stat')).split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]!.replace(/^# /, '').split(',');
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(header.map((name, i) => [name, cells[i] ?? '']));
  });
}

/** Waits until HAProxy reports `server` of `backend` with a status starting with `status` (UP, DOWN). */
export async function waitForStatus(
  socket: string,
  backend: string,
  server: string,
  status: 'UP' | 'DOWN',
  procs: () => Proc[],
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(
    `${backend}/${server} ${status} in HAProxy`,
    async () => {
      const dead = procs().find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
      if (dead) throw new GaveUp(`${dead.name} exited:\n${dead.output.join('')}`);
      const row = (await showStat(socket)).find((r) => r.pxname === backend && r.svname === server);
      return row?.status?.startsWith(status) === true;
    },
    timeoutMs,
    100,
  );
}

export async function stopAll(procs: Proc[]): Promise<void> {
  for (const proc of [...procs].reverse()) await stopChild(proc, 'SIGKILL');
}

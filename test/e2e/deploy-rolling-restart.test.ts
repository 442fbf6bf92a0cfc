import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestBucket, type TestBucket } from '../../packages/bss/test/storage-s3-env.ts';
import { DEFAULT_RETRY, DreamLakeClient } from '../../packages/cli/src/index.ts';
import { createTestDatabase, type TestDatabase } from '../../packages/server/test/helpers/engines.ts';
import {
  DEPLOY,
  DEPLOY_SKIP,
  deployS3,
  envFile,
  haproxyEnv,
  type Instance,
  launch,
  type Proc,
  relaunch,
  showStat,
  siteSettings,
  startHaproxy,
  stopAll,
  waitForStatus,
} from './deployment.ts';
import { freePort, signupToken, tempDir, uniqueName, waitFor } from './harness.ts';

/**
 * An operator's rolling restart under load: 2 servers on PostgreSQL and 2 BSS on the RGW behind
 * HAProxy, all from deploy/; 32 clients upload without pause (folders of small files and 16 MiB
 * files, through the CLI library) while each instance in turn is sent SIGTERM, waited for and
 * started again. Every upload finishes, every file is listed with its hash, each instance exits
 * within its grace, and HAProxy answered no client with a 5xx and met no connection or response
 * error on either backend: the instances drained, it was not the clients' retries that saved it.
 */

const skip = DEPLOY_SKIP;

const CLIENTS = 32;
const SMALL_FILES = 12;
const LARGE = 16 * 1024 * 1024;
/** Uploads that finish between two restarts, so each instance is stopped under load. */
const UPLOADS_BETWEEN = 8;

/** The hash as listed, without a `sha256:` prefix. */
const bare = (hash: string) => hash.replace(/^sha256:/, '');

describe('a rolling restart of the deployment in deploy/ under upload load', { skip, timeout: 600_000 }, () => {
  let database: TestDatabase;
  let bucket: TestBucket;
  let work: string;
  let socket: string;
  let api: string;
  let haproxy: Proc;
  const instances: Instance[] = [];
  const procs = () => [haproxy, ...instances.map((i) => i.proc)].filter(Boolean);

  before(async () => {
    database = await createTestDatabase('postgres');
    bucket = await createTestBucket(deployS3!);
    work = await tempDir('dreamlake-rolling-');
    socket = join(work, 'haproxy.sock');
    const [apiPort, blobPort, ...ports] = (await Promise.all(Array.from({ length: 6 }, () => freePort()))) as [
      number,
      number,
      ...number[],
    ];
    api = `http://127.0.0.1:${apiPort}`;
    const blobs = `http://127.0.0.1:${blobPort}`;
    const site = siteSettings({ databaseUrl: database.url, bucket, blobs, dataDir: work });
    instances.push(await launch('server', 'server1', ports[0]!, site.server));
    instances.push(await launch('bss', 'bss1', ports[1]!, site.bss));
    instances.push(await launch('server', 'server2', ports[2]!, site.server));
    instances.push(await launch('bss', 'bss2', ports[3]!, site.bss));
    const urls = (kind: string) => instances.filter((i) => i.kind === kind).map((i) => i.url);
    haproxy = await startHaproxy(haproxyEnv(apiPort, blobPort, urls('server'), urls('bss')), socket, work);
    try {
      for (const i of instances) await waitForStatus(socket, backendOf(i), i.name, 'UP', procs);
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n${procs()
          .map((p) => `--- ${p.name}\n${p.output.join('')}`)
          .join('\n')}`,
      );
    }
  });

  after(async () => {
    await stopAll(procs());
    if (work) await rm(work, { recursive: true, force: true });
    await bucket?.destroy();
    await database?.drop();
  });

  test('32 clients upload while every instance is restarted in turn: nothing failed, nothing dropped', async (t) => {
    const user = uniqueName('roll');
    const token = await signupToken(api, user);
    const retries: string[] = [];
    const failures: string[] = [];
    const expected = new Map<string, Map<string, string>>();
    let uploads = 0;
    let running = true;

    const client = (n: number) =>
      new DreamLakeClient({
        server: api,
        token,
        home: join(work, `home-${n}`),
        concurrency: 2,
        requests: 2,
        bytesInFlight: 16 * 1024 * 1024,
        retry: { ...DEFAULT_RETRY, onRetry: (error) => retries.push(`client ${n}: ${(error as Error).message}`) },
      });

    /** One client: a folder of small files or one 16 MiB file, again and again, each new. */
    const uploader = async (n: number) => {
      const dl = client(n);
      const space = `${user}/c${n}`;
      const listed = new Map<string, string>();
      expected.set(space, listed);
      // A ramp, not 32 first uploads at once: client n begins once n / 2 uploads have finished.
      await waitFor(`client ${n}'s turn`, async () => uploads >= Math.floor(n / 2), 300_000, 50);
      for (let round = 0; running; round += 1) {
        const folder = join(work, 'src', `c${n}`, `r${round}`);
        await mkdir(folder, { recursive: true });
        const sizes =
          (n + round) % 8 === 0
            ? [LARGE]
            : Array.from({ length: SMALL_FILES }, (_, i) => 1024 * (1 + ((n * 7 + i * 13) % 64)));
        const files = new Map<string, string>();
        for (const [i, size] of sizes.entries()) {
          const body = randomBytes(size);
          const name = size === LARGE ? `large-${i}.bin` : `small-${i}.bin`;
          await writeFile(join(folder, name), body);
          files.set(`r${round}/${name}`, createHash('sha256').update(body).digest('hex'));
        }
        try {
          const summary = await dl.upload(folder, { to: space, message: `round ${round}` });
          if (summary.failed.length > 0) {
            failures.push(
              `client ${n} round ${round}: ${summary.failed.map((f) => `${f.name}: ${f.message}`).join('; ')}`,
            );
          } else {
            for (const [name, hash] of files) listed.set(name, hash);
          }
        } catch (error) {
          failures.push(`client ${n} round ${round}: ${(error as Error).message}`);
        }
        uploads += 1;
        await rm(folder, { recursive: true, force: true });
      }
    };

    const load = Array.from({ length: CLIENTS }, (_, n) => uploader(n));
    const restarts: { name: string; exitMs: number; code: number | null; signal: string | null }[] = [];
    try {
      for (const instance of instances) {
        const from = uploads;
        await waitFor(
          `${UPLOADS_BETWEEN} uploads before restarting ${instance.name}`,
          async () => uploads - from >= UPLOADS_BETWEEN || failures.length > 0,
          120_000,
          50,
        );
        const graceMs =
          Number((await envFile(join(DEPLOY, 'env', `${instance.kind}.env.example`))).SHUTDOWN_GRACE_SECONDS) * 1000;
        progress(`SIGTERM to ${instance.name} after ${uploads} uploads`);
        const began = Date.now();
        instance.proc.child.kill(instance.unit.killSignal as NodeJS.Signals);
        const { code, signal } = await instance.proc.done;
        const exitMs = Date.now() - began;
        restarts.push({ name: instance.name, exitMs, code, signal });
        assert.equal(
          code,
          0,
          `${instance.name} exited ${code ?? signal}:\n${instance.proc.output.join('').slice(-4000)}`,
        );
        assert.ok(exitMs <= graceMs, `${instance.name} took ${exitMs} ms, past its grace of ${graceMs} ms`);
        assert.ok(exitMs < instance.unit.timeoutStopSeconds * 1000, `${instance.name} stopped within TimeoutStopSec`);
        assert.match(instance.proc.output.join(''), /"drain":"begin"/, `${instance.name} logged its drain`);
        progress(`${instance.name} exited ${code ?? signal} after ${exitMs} ms`);
        relaunch(instance);
        await waitForStatus(socket, backendOf(instance), instance.name, 'UP', procs);
        progress(`${instance.name} UP again`);
      }
      const from = uploads;
      await waitFor(
        'uploads after the last restart',
        async () => uploads - from >= UPLOADS_BETWEEN || failures.length > 0,
        120_000,
        50,
      );
    } finally {
      running = false;
      await Promise.all(load);
    }

    const stats = await showStat(socket);
    const row = (px: string, sv: string) => stats.find((r) => r.pxname === px && r.svname === sv)!;
    const count = (r: { [k: string]: string }, key: string) => Number(r[key] || 0);
    const report = {
      uploads,
      files: [...expected.values()].reduce((sum, m) => sum + m.size, 0),
      restarts: restarts.length,
      exitMs: restarts.map((r) => `${r.name} ${r.exitMs}`),
      frontend5xx: ['dreamlake-api', 'dreamlake-bss'].map((px) => count(row(px, 'FRONTEND'), 'hrsp_5xx')),
      backendErrors: ['dreamlake-servers', 'dreamlake-bss'].map((px) => ({
        px,
        econ: count(row(px, 'BACKEND'), 'econ'),
        eresp: count(row(px, 'BACKEND'), 'eresp'),
        wretr: count(row(px, 'BACKEND'), 'wretr'),
        wredis: count(row(px, 'BACKEND'), 'wredis'),
      })),
      clientRetries: retries.length,
    };
    t.diagnostic(JSON.stringify(report));
    // What HAProxy saw: instances going DOWN and UP, and any answer of 5xx, for the failure message.
    const events = haproxy.output
      .join('')
      .split('\n')
      .filter((l) =>
        /is DOWN|no server available| 50\d | [A-Za-z][A-Za-z-]{3} \d+\/\d+\/\d+\/\d+\/\+?[1-9]|" [1-5]\d\d \d+ - - [A-Z]/.test(
          l,
        ),
      );
    for (const line of events.slice(0, 40)) t.diagnostic(`haproxy: ${line}`);
    for (const r of retries.slice(0, 20)) t.diagnostic(`retry: ${r}`);

    assert.deepEqual(failures, [], 'every upload finished');
    assert.equal(restarts.length, 4);
    assert.deepEqual(report.frontend5xx, [0, 0], 'no client was answered a 5xx');
    for (const b of report.backendErrors) {
      assert.equal(b.econ, 0, `${b.px}: connection errors`);
      assert.equal(b.eresp, 0, `${b.px}: response errors`);
    }
    for (const i of instances) {
      const server = row(backendOf(i), i.name);
      assert.equal(count(server, 'econ') + count(server, 'eresp'), 0, `${i.name}: connection or response errors`);
    }

    // Every file uploaded is listed, with the hash of what was sent.
    const lister = client(CLIENTS);
    for (const [space, files] of expected) {
      const listed = new Map((await lister.list(space)).map((f) => [f.name, bare(f.hash)]));
      for (const [name, hash] of files) assert.equal(listed.get(name), hash, `${space}/${name}`);
    }
    assert.ok(report.files >= UPLOADS_BETWEEN * 5, `${report.files} files`);
  });
});

/** A line as the run goes (a run on a busy machine is long: where it stands shows). */
function progress(line: string): void {
  process.stdout.write(`# ${new Date().toISOString()} ${line}\n`);
}

function backendOf(instance: Instance): string {
  return instance.kind === 'server' ? 'dreamlake-servers' : 'dreamlake-bss';
}

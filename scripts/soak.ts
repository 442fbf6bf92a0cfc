/**
 * `npm run soak`: one server and one BSS (the built dist/) under mixed load for a while, their
 * memory, descriptors and sockets sampled every 10 s, to show that nothing leaks over time.
 *
 *   npm run soak                      # 10 minutes, SQLite and the disk backend
 *   npm run soak -- --minutes 2       # the short form CI runs
 *   npm run soak -- --pg --s3         # PostgreSQL (DREAMLAKE_TEST_PG_URL) and S3 (DREAMLAKE_TEST_S3_ENV)
 *   npm run soak -- --workers 6       # clients at once (default 4)
 *   npm run soak -- --cycles 8        # loads after the warm-up (default 4; 1 under 5 minutes)
 *   npm run soak -- --samples-out s.json   # the samples as JSON too
 *
 * The run: a warm-up load, then loads after it (4 in a run of 5 minutes or more, else 1;
 * `--cycles N`), each followed by a quiet period that ends with a sample at rest. The load, through the CLI's library and raw HTTP: folders of small files and multipart
 * files uploaded (some stopped half-way on purpose, half of those resumed), downloads checked
 * byte for byte, listings, and injected failures (bytes that are not the signed file, forged and
 * expired URLs, clients hanging up mid-body, bad tokens). The verdict (soak-verdict.ts says what
 * "flat" means in numbers) fails the run, exit code 1, when a series grows or does not come back
 * at rest, when an upload is lost, a download or listing is wrong, a failure is answered otherwise
 * than expected, or a service exits.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FaultContext, injectFault } from './soak-faults.ts';
import { collectGarbage } from './soak-gc.ts';
import { Ledger } from './soak-ledger.ts';
import {
  downloadOne,
  listSpace,
  reasonOf,
  type SoakUser,
  uploadFolder,
  uploadLarge,
  uploadStopped,
} from './soak-load.ts';
import { type Phase, type Sample, sampleProcess } from './soak-samples.ts';
import { SoakServices } from './soak-services.ts';
import { type Check, flatnessChecks, LIMITS, sampleTable, seriesReports, seriesTable } from './soak-verdict.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Options {
  minutes: number;
  workers: number;
  sampleSeconds: number;
  /** Loads after the warm-up, each followed by a quiet period at whose end the services are sampled at rest. */
  cycles: number | undefined;
  pg: boolean;
  s3: boolean;
  /** Where to write the samples as JSON as well. */
  samplesOut: string | undefined;
}

function parseArgs(args: readonly string[]): Options {
  const options: Options = {
    minutes: 10,
    workers: 4,
    sampleSeconds: 10,
    cycles: undefined,
    pg: false,
    s3: false,
    samplesOut: undefined,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const n = Number(args[++i]);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${arg} takes a positive number`);
      return n;
    };
    if (arg === '--minutes') options.minutes = value();
    else if (arg === '--workers') options.workers = Math.round(value());
    else if (arg === '--sample-seconds') options.sampleSeconds = value();
    else if (arg === '--cycles') options.cycles = Math.round(value());
    else if (arg === '--samples-out') options.samplesOut = args[++i];
    else if (arg === '--pg') options.pg = true;
    else if (arg === '--s3') options.s3 = true;
    else
      throw new Error(
        `unknown option ${arg} (--minutes N, --workers N, --sample-seconds N, --cycles N, --samples-out FILE, --pg, --s3)`,
      );
  }
  if (options.pg && !process.env.DREAMLAKE_TEST_PG_URL) throw new Error('--pg needs DREAMLAKE_TEST_PG_URL');
  if (options.s3 && !process.env.DREAMLAKE_TEST_S3_ENV) throw new Error('--s3 needs DREAMLAKE_TEST_S3_ENV');
  return options;
}

/** What the workers do, with the odds of each (per 100 actions). */
const ACTIONS: ReadonlyArray<[number, string, (ctx: FaultContext) => Promise<void>]> = [
  [28, 'upload folder', uploadFolder],
  [10, 'upload multipart file', uploadLarge],
  [7, 'upload stopped half-way', uploadStopped],
  [20, 'download', downloadOne],
  [13, 'list', listSpace],
  [22, 'fault', injectFault],
];
const ACTION_TIMEOUT_MS = 180_000;

function chooseAction(): [string, (ctx: FaultContext) => Promise<void>] {
  let roll = Math.random() * ACTIONS.reduce((s, [w]) => s + w, 0);
  for (const [weight, name, run] of ACTIONS) {
    roll -= weight;
    if (roll < 0) return [name, run];
  }
  const [, name, run] = ACTIONS[0] as (typeof ACTIONS)[number];
  return [name, run];
}

/** Workers that run actions while the load is on, and stop between actions when it is paused. */
class Load {
  #on = true;
  #ended = false;
  #busy = 0;
  #resume: (() => void) | undefined;
  #resumed: Promise<void> = Promise.resolve();
  #idle: Array<() => void> = [];
  readonly actions = new Map<string, number>();
  readonly actionErrors: string[] = [];

  async worker(ctx: FaultContext): Promise<void> {
    while (!this.#ended) {
      if (!this.#on) {
        await this.#resumed;
        continue;
      }
      const [name, run] = chooseAction();
      this.#busy += 1;
      const timeout = new AbortController();
      const timer = setTimeout(
        () => timeout.abort(new Error(`${name} took over ${ACTION_TIMEOUT_MS / 1000} s`)),
        ACTION_TIMEOUT_MS,
      );
      try {
        await run({ ...ctx, signal: timeout.signal });
        this.actions.set(name, (this.actions.get(name) ?? 0) + 1);
      } catch (error) {
        // The actions account for what they expect; anything thrown out of one is a failure of the run.
        this.actionErrors.push(`${name}: ${reasonOf(error)}`);
      } finally {
        clearTimeout(timer);
        this.#busy -= 1;
        if (this.#busy === 0) for (const f of this.#idle.splice(0)) f();
      }
    }
  }

  /** Stops starting actions and resolves once the ones under way are done. */
  async pause(): Promise<void> {
    this.#on = false;
    this.#resumed = new Promise((resolve) => {
      this.#resume = resolve;
    });
    if (this.#busy > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  resume(): void {
    this.#on = true;
    this.#resume?.();
  }

  end(): void {
    this.#ended = true;
    this.resume();
  }
}

async function signup(serverUrl: string, index: number): Promise<SoakUser> {
  const username = `soak${index}${Math.random().toString(36).slice(2, 8)}`;
  const res = await fetch(`${serverUrl}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'soak test password' }),
  });
  const body = (await res.json()) as { token?: string };
  if (res.status !== 201 || !body.token) throw new Error(`sign-up: ${res.status} ${JSON.stringify(body)}`);
  return { username, token: body.token, spaces: ['data', 'media'] };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const totalMs = options.minutes * 60_000;
  // The quiet periods: long enough for idle keep-alive connections to close and a few samples.
  const quietMs = Math.min(30_000, Math.max(3 * options.sampleSeconds * 1000, totalMs / 10));
  // Loads after the warm-up: several in a long run, so the values at rest show whether growth levels
  // off; one in a short run. The warm-up and each load get the same share of the time.
  const cycles = options.cycles ?? (options.minutes >= 5 ? 4 : 1);
  const loadMs = Math.max(10_000, (totalMs - (cycles + 1) * quietMs) / (cycles + 1));
  const services = await SoakServices.start({
    pgUrl: options.pg ? process.env.DREAMLAKE_TEST_PG_URL : undefined,
    s3EnvFile: options.s3 ? process.env.DREAMLAKE_TEST_S3_ENV : undefined,
  });
  const work = await mkdtemp(join(tmpdir(), 'dreamlake-soak-work-'));
  const interrupt = (signal: NodeJS.Signals) => {
    log(`\n${signal}: stopping`);
    services.kill();
    void rm(work, { recursive: true, force: true }).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  log(
    `soak: ${options.minutes} min, ${options.workers} clients, samples every ${options.sampleSeconds} s; server ${services.serverUrl} (pid ${services.serverPid}, ${services.database}), BSS ${services.bssUrl} (pid ${services.bssPid}, ${services.storage})`,
  );

  const ledger = new Ledger();
  const load = new Load();
  const samples: Sample[] = [];
  const began = Date.now();
  let phase: Phase = 'warm-up';
  let cycle = 0;
  const sampleNow = async () => {
    const [server, bss] = await Promise.all([
      sampleProcess(services.serverPid, services.serverUrl, services.metricsToken),
      sampleProcess(services.bssPid, services.bssUrl, services.metricsToken),
    ]);
    const s: Sample = { t: (Date.now() - began) / 1000, phase, cycle, server, bss };
    samples.push(s);
    log(
      `${String(Math.round(s.t)).padStart(5)} s  ${`${phase} ${cycle}`.padEnd(9)}  server RSS ${server.rssMiB.toFixed(0)} MiB heap ${server.heapMiB.toFixed(1)} fds ${server.fds} sockets ${server.sockets} | BSS RSS ${bss.rssMiB.toFixed(0)} MiB heap ${bss.heapMiB.toFixed(1)} fds ${bss.fds} sockets ${bss.sockets} | uploads ${ledger.started}, faults ${ledger.faultsInjected}`,
    );
  };
  const samplerErrors: string[] = [];
  const sampler = setInterval(
    () => void sampleNow().catch((e: unknown) => samplerErrors.push(reasonOf(e))),
    options.sampleSeconds * 1000,
  );

  const users = await Promise.all(Array.from({ length: options.workers }, (_, i) => signup(services.serverUrl, i)));
  await sampleNow();
  const workers = users.map(async (user, i) => {
    const dir = join(work, `worker${i}`);
    await load.worker({
      serverUrl: services.serverUrl,
      bssUrl: services.bssUrl,
      presignSecret: services.presignSecret,
      ledger,
      work: dir,
      user,
      signal: new AbortController().signal,
    });
  });

  // The quiet period after each load: once the load's last actions are done, long enough for idle
  // keep-alive connections to close; then a full collection in each service and the sample at rest.
  const quiet = async () => {
    await load.pause();
    phase = 'quiet';
    await sleep(quietMs);
    await Promise.all([collectGarbage(services.serverInspectorPort), collectGarbage(services.bssInspectorPort)]);
    await sampleNow();
  };
  await sleep(Math.max(0, began + loadMs - Date.now()));
  await quiet();
  for (let c = 1; c <= cycles; c++) {
    cycle = c;
    phase = 'load';
    load.resume();
    await sleep(loadMs);
    await quiet();
  }
  clearInterval(sampler);
  load.end();
  await Promise.all(workers);

  // Every upload listed at the end is still there, with its hashes, in a full listing of its space.
  const spaces = new Set(ledger.published.map((p) => `${p.namespace}/${p.space}`));
  for (const key of spaces) {
    const [namespace, space] = key.split('/') as [string, string];
    const user = users.find((u) => u.username === namespace) as SoakUser;
    const names = new Map<string, string>();
    let cursor: string | undefined;
    do {
      const res = await fetch(
        `${services.serverUrl}/namespaces/${namespace}/spaces/${space}/files?limit=10000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { headers: { authorization: `Bearer ${user.token}` } },
      );
      const page = (await res.json()) as { files: Array<{ name: string; hash: string }>; next?: string };
      for (const f of page.files) names.set(f.name, f.hash);
      cursor = page.next;
    } while (cursor);
    for (const p of ledger.published.filter((x) => x.namespace === namespace && x.space === space)) {
      const gone = [...p.files].filter(([name, hash]) => names.get(p.prefix + name) !== hash).length;
      if (gone > 0) ledger.lost.push(`${key}/${p.prefix}: ${gone} names gone or changed by the end`);
    }
  }

  const running = services.running();
  if (options.samplesOut) await writeFile(options.samplesOut, `${JSON.stringify(samples, null, 1)}\n`);
  const reports = seriesReports(samples);
  process.stdout.write(`\nSamples (MiB; fds and sockets are counts of /proc/PID/fd):\n${sampleTable(samples)}\n`);
  process.stdout.write(
    `\nPer series (slopes: least squares over the samples under load after the warm-up, and over the values at rest after each load; rest N: the last sample of the quiet period after load N, taken after a full collection; rest 0 follows the warm-up):\n${seriesTable(reports)}\n`,
  );
  process.stdout.write(`\nActions: ${[...load.actions].map(([n, c]) => `${n} ${c}`).join(', ')}\n${ledger.report()}\n`);

  const checks: Check[] = [
    ...flatnessChecks(reports),
    { what: `server and BSS still running`, ok: running.server && running.bss },
    { what: `uploads lost: ${ledger.lost.length}`, ok: ledger.lost.length === 0 },
    { what: `uploads unaccounted for: ${ledger.unaccounted}`, ok: ledger.unaccounted === 0 },
    { what: `uploads listed: ${ledger.listed} (some must be)`, ok: ledger.listed > 0 },
    { what: `downloads with wrong bytes: ${ledger.badDownloads.length}`, ok: ledger.badDownloads.length === 0 },
    { what: `listings missing finished uploads: ${ledger.badListings.length}`, ok: ledger.badListings.length === 0 },
    {
      what: `failures answered otherwise than expected: ${ledger.unexpectedFaults.length} of ${ledger.faultsInjected}`,
      ok: ledger.unexpectedFaults.length === 0 && ledger.faultsInjected > 0,
    },
    {
      what: `library calls that left abort listeners on their caller's signal: ${ledger.listenersLeft.length}`,
      ok: ledger.listenersLeft.length === 0,
    },
    { what: `actions that threw: ${load.actionErrors.length}`, ok: load.actionErrors.length === 0 },
    { what: `samples that failed: ${samplerErrors.length}`, ok: samplerErrors.length === 0 },
  ];
  for (const e of [...load.actionErrors, ...samplerErrors].slice(0, 20)) process.stdout.write(`  ERROR: ${e}\n`);
  process.stdout.write(`\nLimits: ${JSON.stringify(LIMITS)}\nVerdict:\n`);
  for (const c of checks) process.stdout.write(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.what}\n`);
  const failed = checks.filter((c) => !c.ok);
  process.stdout.write(
    failed.length === 0
      ? '\nPASS: flat after warm-up, every upload accounted for\n'
      : `\nFAIL: ${failed.length} checks\n`,
  );
  if (failed.length > 0 && (!running.server || !running.bss)) process.stdout.write(`${services.logs()}\n`);
  await services.close();
  await rm(work, { recursive: true, force: true });
  process.exit(failed.length === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
  log(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});

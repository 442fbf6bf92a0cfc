/**
 * `dreamlake sync` over a folder of 100,000 × 1 KiB files (10,000 with --quick), through counting
 * proxies in front of the server and BSS (disk backend, SQLite):
 *
 * - the sync of the unchanged folder, every file in the hash cache: time, CLI peak RSS, and the
 *   requests it sent (the goal: one listing page per 10,000 files, no request per file);
 * - 1 % of the files changed (same size, other bytes) and 1 % deleted: the dry run of
 *   `sync --delete` (it must send no upload or commit request: only GETs), then the sync itself.
 *
 * The folder's first sync (every file sent) is run first and reported too.
 *
 *   npm run bench -- --only sync
 *   node --import tsx scripts/bench-sync.ts [--quick]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureCliBuild } from './bench-cli.ts';
import { cpuSecondsOf } from './bench-machine.ts';
import type { BenchRow } from './bench-presign.ts';
import { type CountingProxy, startCountingProxy } from './bench-proxy.ts';
import {
  BenchServices,
  CLI_BIN,
  cleanUpOnSignal,
  freePort,
  ROOT,
  removeTemp,
  tempDir,
  track,
  watchPeakRss,
} from './bench-services.ts';
import { makeSmallFiles } from './bench-small-files.ts';

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const log = (line: string) => process.stderr.write(`${line}\n`);

interface SyncRun {
  seconds: number;
  peakRssMiB: number;
  cpuSeconds: number;
  stdout: string;
  stderr: string;
  /** Requests through each proxy during the run, by "METHOD /route". */
  server: Map<string, number>;
  bss: Map<string, number>;
}

/** Runs `dreamlake sync …` to its end, counting what went through the proxies meanwhile. */
async function runSync(
  args: readonly string[],
  env: Record<string, string>,
  proxies: { server: CountingProxy; bss: CountingProxy },
): Promise<SyncRun> {
  // Built again first if a source is newer than the build: the bin would run the sources through tsx.
  ensureCliBuild();
  proxies.server.counts.clear();
  proxies.bss.counts.clear();
  const started = performance.now();
  const child = track(
    spawn(process.execPath, [CLI_BIN, 'sync', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const peak = watchPeakRss(child.pid ?? 0, 100);
  let cpuSeconds = 0;
  const cpuTimer = setInterval(
    () => void cpuSecondsOf(child.pid ?? 0).then((s) => (cpuSeconds = Math.max(cpuSeconds, s))),
    100,
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout = (stdout + c.toString()).slice(-20_000);
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const [code] = (await once(child, 'close')) as [number | null];
  clearInterval(cpuTimer);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`dreamlake sync ${args.join(' ')} exited with ${code}: ${stderr.slice(-600)}`);
  return {
    seconds,
    peakRssMiB: peak(),
    cpuSeconds,
    stdout,
    stderr,
    server: new Map(proxies.server.counts),
    bss: new Map(proxies.bss.counts),
  };
}

const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
/** Counts by route, a draft's id shown as {id} (each run opens its own). */
const routes = (counts: Map<string, number>) =>
  [
    ...[...counts.entries()]
      .reduce((merged, [route, n]) => {
        const key = route.replace(/\/drafts\/[^/]+/, '/drafts/{id}');
        return merged.set(key, (merged.get(key) ?? 0) + n);
      }, new Map<string, number>())
      .entries(),
  ]
    .sort((a, b) => b[1] - a[1])
    .map(([route, n]) => `${fmt(n)} ${route}`)
    .join(', ') || 'none';
/** Requests that could write: anything but a GET. */
const writes = (run: SyncRun) =>
  [...run.server.entries(), ...run.bss.entries()]
    .filter(([route]) => !route.startsWith('GET '))
    .reduce((a, [, n]) => a + n, 0);

function requestsText(run: SyncRun): string {
  return `${fmt(total(run.server) + total(run.bss))} requests: server ${routes(run.server)}; BSS ${routes(run.bss)}`;
}

export async function runSyncBench(options: { count?: number } = {}): Promise<BenchRow[]> {
  const count = options.count ?? 100_000;
  const onePercent = Math.max(1, Math.round(count / 100));
  const rows: BenchRow[] = [];
  const work = await tempDir('dreamlake-bench-sync-');
  const bssPort = await freePort();
  const bssProxy = await startCountingProxy({ host: '127.0.0.1', port: bssPort });
  const services = await BenchServices.start({ bssPort, bssPublicUrl: () => bssProxy.url });
  const serverProxy = await startCountingProxy({ host: '127.0.0.1', port: Number(new URL(services.serverUrl).port) });
  const proxies = { server: serverProxy, bss: bssProxy };
  try {
    const { username, token } = await services.signup('sync');
    const home = join(work, 'home');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      DREAMLAKE_HOME: home,
      DREAMLAKE_SERVER: serverProxy.url,
      DREAMLAKE_TOKEN: token,
      NO_COLOR: '1',
    };
    log(`  writing ${fmt(count)} × 1 KiB…`);
    const files = await makeSmallFiles(work, 'folder', count, 1024);
    const target = `${username}/synced`;
    const label = `${fmt(count)} × 1 KiB`;

    log('  first sync…');
    const first = await runSync([files.dir, target], env, proxies);
    rows.push({
      measure: `dreamlake sync of ${label} (first: every file sent)`,
      result: `${fmt(first.seconds, 1)} s (${fmt(count / first.seconds)} files/s), CLI peak RSS ${fmt(first.peakRssMiB)} MiB`,
      rawLimit: '-',
      note: `${requestsText(first)}; CLI CPU ${fmt(first.cpuSeconds, 1)} s`,
    });

    log('  unchanged sync…');
    const same = await runSync([files.dir, target, '--delete'], env, proxies);
    const pages = same.server.get('GET /namespaces/{ns}/spaces/{space}/files') ?? 0;
    rows.push({
      measure: `dreamlake sync of the unchanged ${label} folder (all in the hash cache)`,
      result: `${fmt(same.seconds, 1)} s, ${fmt(total(same.server) + total(same.bss))} requests, CLI peak RSS ${fmt(same.peakRssMiB)} MiB`,
      rawLimit: `goal: ${fmt(Math.ceil(count / 10_000))} listing pages (10,000 names each), no request per file`,
      note: `${requestsText(same)} (${fmt(pages)} listing pages); no commit (nothing changed); CLI CPU ${fmt(same.cpuSeconds, 1)} s`,
    });

    log(`  ${fmt(onePercent)} changed, ${fmt(onePercent)} deleted…`);
    // Spread over the folder: every 100th file changed (same size, other bytes), the next one deleted.
    for (let i = 0; i < onePercent; i += 1) {
      const changed = files.paths[i * 100] as string;
      const bytes = await readFile(changed);
      bytes.set(randomBytes(16));
      await writeFile(changed, bytes);
      await unlink(files.paths[i * 100 + 1] as string);
    }

    const dry = await runSync([files.dir, target, '--delete', '--dry-run'], env, proxies);
    const planned = /would upload (\d+) files.*would delete (\d+)/.exec(dry.stdout);
    rows.push({
      measure: `dreamlake sync --delete --dry-run, ${label} with 1 % changed and 1 % deleted`,
      result: `${fmt(dry.seconds, 1)} s, ${fmt(total(dry.server) + total(dry.bss))} requests, ${fmt(writes(dry))} upload or commit requests`,
      rawLimit: 'goal: no upload or commit request',
      note: `${requestsText(dry)}; planned: ${planned ? `${planned[1]} uploads, ${planned[2]} deletes` : dry.stdout.slice(-200)}; CLI CPU ${fmt(dry.cpuSeconds, 1)} s`,
    });
    if (writes(dry) > 0) process.exitCode = 1;

    const changed = await runSync([files.dir, target, '--delete'], env, proxies);
    const made = /snapshot (\d+) made, ([-+~\d ]+),/.exec(changed.stdout);
    rows.push({
      measure: `dreamlake sync --delete, ${label} with 1 % changed and 1 % deleted`,
      result: `${fmt(changed.seconds, 1)} s, ${fmt(total(changed.server) + total(changed.bss))} requests, CLI peak RSS ${fmt(changed.peakRssMiB)} MiB`,
      rawLimit: '-',
      note: `${requestsText(changed)}; ${made ? `snapshot ${made[1]}: ${made[2]}` : changed.stdout.slice(-200)}; CLI CPU ${fmt(changed.cpuSeconds, 1)} s`,
    });
  } finally {
    await services.close();
    await serverProxy.close();
    await bssProxy.close();
    await removeTemp(work);
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  cleanUpOnSignal();
  const rows = await runSyncBench(process.argv.includes('--quick') ? { count: 10_000 } : {});
  for (const row of rows) console.log(`| ${row.measure} | ${row.result} | ${row.rawLimit} | ${row.note ?? ''} |`);
}

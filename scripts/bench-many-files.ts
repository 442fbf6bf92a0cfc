/**
 * Folders of many small files through the real `dreamlake upload`, beside the raw floors of
 * scripts/bench-small-files.ts on the same files in the same run (one fsync per file, and the
 * four fsyncs per file of publishing each blob by rename, as BSS's disk backend does):
 *
 * - a folder of 1,000 × 20 KiB: first upload, then the same command again (everything stored);
 * - a folder of 100,000 × 1 KiB (10,000 with --quick): total time and CLI peak RSS, then (another
 *   first upload) the HTTP requests the CLI sent, counted by proxies in front of the server and BSS.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { type CliUploadResult, cliStartupSeconds, runCliUpload } from './bench-cli.ts';
import { cpuSecondsOf, machineBusySeconds } from './bench-machine.ts';
import type { BenchRow } from './bench-presign.ts';
import { type CountingProxy, describeCounts, startCountingProxy } from './bench-proxy.ts';
import { BenchServices, freePort, removeTemp, tempDir } from './bench-services.ts';
import { makeSmallFiles, type RawSendResult, runRawSmallFiles } from './bench-small-files.ts';

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const log = (line: string) => process.stderr.write(`${line}\n`);
/** Dirty pages of the generated files go to disk before anything is timed. */
const settle = () => execFileSync('sync');
const kib = (bytes: number) => (bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`);

function median(results: RawSendResult[]): RawSendResult {
  const sorted = [...results].sort((a, b) => a.filesPerSecond - b.filesPerSecond);
  return sorted[Math.floor(sorted.length / 2)] as RawSendResult;
}

/** The two floors of one folder. */
interface Floors {
  /** One fsync per file. */
  file: RawSendResult;
  /** Published by rename, four fsyncs per file. */
  publish: RawSendResult;
}

function floorText(floors: Floors): string {
  return `${fmt(floors.file.filesPerSecond)} files/s raw, 1 fsync per file; ${fmt(floors.publish.filesPerSecond)} files/s raw, 4 fsyncs per file (published as BSS does)`;
}

function ofFloors(filesPerSecond: number, floors: Floors): string {
  const ratios = [floors.file, floors.publish].map((raw) => filesPerSecond / raw.filesPerSecond);
  if (ratios.every((r) => r < 1)) return `${ratios.map((r) => `${(r * 100).toFixed(0)}%`).join(' / ')} of the floors`;
  return `${ratios.map((r) => `${r.toFixed(1)}×`).join(' / ')} the floors' rates`;
}

/** What the runs said about themselves: the summary line's counts, the --json lines seen, the index. */
function checks(runs: readonly CliUploadResult[], indexed?: readonly number[]): string {
  const parts = [`summary per run: ${runs.map((r) => `${r.files} files, ${r.skipped} already stored`).join('; ')}`];
  if (runs.some((r) => r.lines !== r.files))
    parts.push(`--json lines on stdout per run: ${runs.map((r) => r.lines).join(', ')}`);
  if (indexed) parts.push(`files in the index after each run: ${indexed.join(', ')}`);
  return parts.join('; ');
}

function failedRow(measure: string, error: unknown, rawLimit = '-'): BenchRow {
  process.exitCode = 1;
  return {
    measure,
    result: 'failed',
    rawLimit,
    note: `\`${(error as Error).message.replace(/\s+/g, ' ').replace(/\|/g, '\\|').slice(0, 400)}\``,
  };
}

export interface SmallFilesBenchOptions {
  count?: number;
  bytes?: number;
  /** Runs of the floor; the median is reported. */
  floorRuns?: number;
  /** Runs of each dreamlake upload; the median is reported. */
  cliRuns?: number;
}

/** 1,000 × 20 KiB: the floor (median of a few runs), the first upload, the same upload again. */
export async function runSmallFilesBench(options: SmallFilesBenchOptions = {}): Promise<BenchRow[]> {
  const count = options.count ?? 1000;
  const bytes = options.bytes ?? 20 * 1024;
  const work = await tempDir('dreamlake-bench-small-');
  const rows: BenchRow[] = [];
  let services: BenchServices | undefined;
  try {
    const files = await makeSmallFiles(work, 'small', count, bytes);
    settle();
    // One run of each to warm up (JIT, connections, page cache), then the measured runs, the two
    // floors in turn so that a disturbance of the machine touches both alike.
    await runRawSmallFiles(files.paths, 'file');
    await runRawSmallFiles(files.paths, 'publish');
    const runs: Record<keyof Floors, RawSendResult[]> = { file: [], publish: [] };
    for (let i = 0; i < (options.floorRuns ?? 5); i += 1) {
      runs.file.push(await runRawSmallFiles(files.paths, 'file'));
      runs.publish.push(await runRawSmallFiles(files.paths, 'publish'));
    }
    const raw: Floors = { file: median(runs.file), publish: median(runs.publish) };
    for (const [kind, what] of [
      ['file', 'each file fsynced'],
      ['publish', 'each file published as BSS does: 4 fsyncs'],
    ] as const) {
      const list = runs[kind];
      const range = `${fmt(Math.min(...list.map((r) => r.filesPerSecond)))}–${fmt(Math.max(...list.map((r) => r.filesPerSecond)))}`;
      rows.push({
        measure: `raw small files: ${fmt(count)} × ${kib(bytes)}, ${what} (floor)`,
        result: `${fmt(raw[kind].filesPerSecond)} files/s (${fmt(raw[kind].seconds, 2)} s)`,
        rawLimit: '-',
        note: `median of ${list.length} runs (${range} files/s); one process, one PUT per file, 16 at a time; CPU ${fmt(raw[kind].cpuSeconds, 2)} s, other processes ${fmt(raw[kind].othersCpuSeconds, 2)} s`,
      });
    }

    services = await BenchServices.start();
    const user = await services.signup('small');
    const cpuOfServices = () =>
      Promise.all([cpuSecondsOf(services!.serverPid), cpuSecondsOf(services!.bssPid), machineBusySeconds()]);
    // Each first upload in a space of its own with a CLI home of its own (no hash cache); the
    // runs again reuse the first run's space and home, as a user running the same command would.
    const upload = async (
      i: number,
    ): Promise<CliUploadResult & { serverCpu: number; bssCpu: number; othersCpu: number }> => {
      const before = await cpuOfServices();
      const own = process.cpuUsage();
      const run = await runCliUpload({
        paths: [files.dir],
        to: `${user.username}/small${i}`,
        serverUrl: services!.serverUrl,
        token: user.token,
        home: join(work, `home${i}`),
        timeoutMs: 30 * 60_000,
      });
      const ownUsed = process.cpuUsage(own);
      const after = await cpuOfServices();
      const [serverCpu, bssCpu, machine] = after.map((v, k) => v - (before[k] ?? 0)) as [number, number, number];
      const othersCpu = Math.max(
        0,
        machine - run.cpuSeconds - serverCpu - bssCpu - (ownUsed.user + ownUsed.system) / 1e6,
      );
      return { ...run, serverCpu, bssCpu, othersCpu };
    };
    const measure = (what: string) => `dreamlake upload of ${fmt(count)} × ${kib(bytes)} (${what})`;
    type Run = Awaited<ReturnType<typeof upload>>;
    const row = (what: string, runs: Run[], note: string): BenchRow => {
      const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
      const mid = sorted[Math.floor(sorted.length / 2)] as Run;
      const cpu = `CPU seconds of the median run: CLI ${fmt(mid.cpuSeconds, 1)}, server ${fmt(mid.serverCpu, 1)}, BSS ${fmt(mid.bssCpu, 1)}, other processes ${fmt(mid.othersCpu, 1)}`;
      const range =
        runs.length > 1
          ? `median of ${runs.length} runs (${fmt(count / (sorted.at(-1) as CliUploadResult).seconds)}–${fmt(count / (sorted[0] as CliUploadResult).seconds)} files/s); `
          : '';
      return {
        measure: measure(what),
        result: `${fmt(count / mid.seconds)} files/s (${fmt(mid.seconds, 1)} s), CLI peak RSS ${Math.max(...runs.map((r) => r.peakRssMiB))} MiB`,
        rawLimit: floorText(raw),
        note: `${ofFloors(count / mid.seconds, raw)}; ${range}${cpu}; ${note}`,
      };
    };
    const startup = await cliStartupSeconds();
    const firsts: Run[] = [];
    const indexed: number[] = [];
    try {
      for (let i = 0; i < (options.cliRuns ?? 3); i += 1) {
        log(`  dreamlake upload, ${count} files (${i + 1})…`);
        firsts.push(await upload(i));
        indexed.push(await services.indexedFiles(user.token, user.username, `small${i}`));
      }
      rows.push(
        row(
          'first upload',
          firsts,
          `${checks(firsts, indexed)}; the whole command, including its start-up (\`dreamlake --version\` takes ${fmt(startup, 2)} s)`,
        ),
      );
    } catch (error) {
      rows.push(failedRow(measure('first upload'), error, floorText(raw)));
    }
    if (firsts.length > 0) {
      const agains: Run[] = [];
      try {
        for (let i = 0; i < firsts.length; i += 1) {
          log(`  the same upload again (${i + 1})…`);
          agains.push(await upload(i));
        }
        rows.push(
          row(
            'the same command again, everything stored',
            agains,
            `nothing is sent, so the floors (which send every file) are only a yardstick; ${checks(agains)}`,
          ),
        );
      } catch (error) {
        rows.push(failedRow(measure('the same command again, everything stored'), error, floorText(raw)));
      }
    }
  } finally {
    await services?.close();
    await removeTemp(work);
  }
  return rows;
}

/** One first upload of a folder into fresh services, optionally behind counting proxies. */
async function uploadFolder(dir: string, home: string, counted: boolean) {
  const proxies: CountingProxy[] = [];
  let services: BenchServices | undefined;
  try {
    let serverUrl: string;
    if (counted) {
      // Proxies first (BSS's address in signed URLs is its proxy's), then the services behind them.
      const bssPort = await freePort();
      const bssProxy = await startCountingProxy({ host: '127.0.0.1', port: bssPort });
      proxies.push(bssProxy);
      services = await BenchServices.start({ bssPort, bssPublicUrl: () => bssProxy.url });
      const serverProxy = await startCountingProxy({
        host: '127.0.0.1',
        port: Number(new URL(services.serverUrl).port),
      });
      proxies.push(serverProxy);
      serverUrl = serverProxy.url;
    } else {
      services = await BenchServices.start();
      serverUrl = services.serverUrl;
    }
    const user = await services.signup('many');
    const cpuBefore = await Promise.all([
      cpuSecondsOf(services.serverPid),
      cpuSecondsOf(services.bssPid),
      machineBusySeconds(),
    ]);
    const ownBefore = process.cpuUsage();
    const run = await runCliUpload({
      paths: [dir],
      to: `${user.username}/many`,
      serverUrl,
      token: user.token,
      home,
      timeoutMs: 3 * 3600_000,
    });
    const own = process.cpuUsage(ownBefore);
    const cpuAfter = await Promise.all([
      cpuSecondsOf(services.serverPid),
      cpuSecondsOf(services.bssPid),
      machineBusySeconds(),
    ]);
    const [server, bss, machine] = cpuAfter.map((v, i) => v - (cpuBefore[i] ?? 0)) as [number, number, number];
    const ownSeconds = (own.user + own.system) / 1e6;
    const proxyCpu = counted ? `, proxies ${fmt(ownSeconds)}` : '';
    const others = Math.max(0, machine - run.cpuSeconds - server - bss - ownSeconds);
    const cpu = `CPU seconds: CLI ${fmt(run.cpuSeconds)}, server ${fmt(server)}, BSS ${fmt(bss)}${proxyCpu}, other processes ${fmt(others)} (2 cores: ${fmt(2 * run.seconds)} available)`;
    const inIndex = await services.indexedFiles(user.token, user.username, 'many');
    return { run, cpu, inIndex, server: proxies[1], bss: proxies[0] };
  } finally {
    await services?.close();
    for (const proxy of proxies) await proxy.close();
  }
}

/**
 * 100,000 × 1 KiB: the floors on the same files, then two first uploads into fresh services: one
 * straight (time, peak RSS, CPU) and one behind counting proxies (HTTP requests).
 */
export async function runManyFilesBench(options: { count: number; bytes?: number }): Promise<BenchRow[]> {
  const { count } = options;
  const bytes = options.bytes ?? 1024;
  const what = `dreamlake upload of ${fmt(count)} × ${kib(bytes)}`;
  const work = await tempDir('dreamlake-bench-many-');
  const rows: BenchRow[] = [];
  try {
    log(`  writing ${fmt(count)} files…`);
    const files = await makeSmallFiles(work, 'many', count, bytes);
    settle();
    log('  floors on the same files…');
    const raw: Floors = {
      file: await runRawSmallFiles(files.paths, 'file'),
      publish: await runRawSmallFiles(files.paths, 'publish'),
    };
    const rawLimit = `${(['file', 'publish'] as const)
      .map(
        (kind) =>
          `${fmt(raw[kind].seconds, 1)} s, ${fmt(raw[kind].filesPerSecond)} files/s, CPU ${fmt(raw[kind].cpuSeconds)} s, other processes ${fmt(raw[kind].othersCpuSeconds)} s (${kind === 'file' ? '1 fsync' : '4 fsyncs'} per file)`,
      )
      .join('; ')}: raw small files on the same folder`;

    log(`  dreamlake upload, ${fmt(count)} files…`);
    try {
      const { run, cpu, inIndex } = await uploadFolder(files.dir, join(work, 'home1'), false);
      rows.push({
        measure: `${what}: time, CLI peak RSS`,
        result: `${fmt(run.seconds, 1)} s (${fmt(count / run.seconds)} files/s), CLI peak RSS ${run.peakRssMiB} MiB`,
        rawLimit,
        note: `${ofFloors(count / run.seconds, raw)}; ${cpu}; ${checks([run], [inIndex])}`,
      });
    } catch (error) {
      rows.push(failedRow(`${what}: time, CLI peak RSS`, error, rawLimit));
    }

    log(`  dreamlake upload, ${fmt(count)} files, through counting proxies…`);
    try {
      const { run, cpu, inIndex, server, bss } = await uploadFolder(files.dir, join(work, 'home2'), true);
      const total = (server?.total() ?? 0) + (bss?.total() ?? 0);
      rows.push({
        measure: `${what}: HTTP requests the CLI sent (another first upload, through counting proxies)`,
        result: `${fmt(total)} requests (${fmt(total / count, 3)} per file): server ${fmt(server?.total() ?? 0)}, BSS ${fmt(bss?.total() ?? 0)}`,
        rawLimit: `${fmt(count)} requests: raw small files, one PUT per file`,
        note: `${describeCounts(new Map([...(server?.counts ?? []), ...(bss?.counts ?? [])]), 6)}; this run took ${fmt(run.seconds, 1)} s, CLI peak RSS ${run.peakRssMiB} MiB; ${cpu}; ${checks([run], [inIndex])}`,
      });
    } catch (error) {
      rows.push(failedRow(`${what}: HTTP requests the CLI sent`, error, `${fmt(count)} requests: raw small files`));
    }
  } finally {
    log('  removing the files…');
    await removeTemp(work);
  }
  return rows;
}

/**
 * Folders of many small files through the real `dreamlake upload`, beside the raw floor of
 * scripts/bench-small-files.ts on the same files in the same run:
 *
 * - a folder of 1,000 × 20 KiB: first upload, then the same command again (everything stored);
 * - a folder of 100,000 × 1 KiB (10,000 with --quick): total time, CLI peak RSS, and the HTTP
 *   requests the CLI sent, counted by proxies in front of the server and BSS.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchRow } from './bench-presign.ts';
import { runCliUpload, type CliUploadResult } from './bench-cli.ts';
import { describeCounts, startCountingProxy } from './bench-proxy.ts';
import { BenchServices, freePort, removeTemp, tempDir } from './bench-services.ts';
import { makeSmallFiles, runRawSmallFiles, type RawSendResult } from './bench-small-files.ts';

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const log = (line: string) => process.stderr.write(`${line}\n`);
/** Dirty pages of the generated files go to disk before anything is timed. */
const settle = () => execFileSync('sync');
const kib = (bytes: number) => (bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`);

function median(results: RawSendResult[]): RawSendResult {
  const sorted = [...results].sort((a, b) => a.filesPerSecond - b.filesPerSecond);
  return sorted[Math.floor(sorted.length / 2)] as RawSendResult;
}

function floorText(raw: RawSendResult): string {
  return `${fmt(raw.filesPerSecond)} files/s raw small files (read + SHA-256 + PUT, 16 at a time; server SHA-256 + fsync)`;
}

function failedRow(measure: string, error: unknown, rawLimit = '-'): BenchRow {
  process.exitCode = 1;
  return { measure, result: 'failed', rawLimit, note: `\`${(error as Error).message.replace(/\s+/g, ' ').replace(/\|/g, '\\|').slice(0, 400)}\`` };
}

export interface SmallFilesBenchOptions {
  count?: number;
  bytes?: number;
  /** Runs of the floor; the median is reported. */
  floorRuns?: number;
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
    // One run to warm up (JIT, connections, page cache), then the measured runs.
    await runRawSmallFiles(files.paths);
    const runs: RawSendResult[] = [];
    for (let i = 0; i < (options.floorRuns ?? 5); i += 1) runs.push(await runRawSmallFiles(files.paths));
    const raw = median(runs);
    const floorRange = `${fmt(Math.min(...runs.map((r) => r.filesPerSecond)))}–${fmt(Math.max(...runs.map((r) => r.filesPerSecond)))}`;
    rows.push({
      measure: `raw small files: ${fmt(count)} × ${kib(bytes)}, one process (floor)`,
      result: `${fmt(raw.filesPerSecond)} files/s (${fmt(raw.seconds, 2)} s)`,
      rawLimit: '-',
      note: `median of ${runs.length} runs (${floorRange} files/s); one PUT per file, each file fsynced`,
    });

    services = await BenchServices.start();
    const user = await services.signup('small');
    const home = join(work, 'home');
    const upload = () => runCliUpload({ paths: [files.dir], to: `${user.username}/small`, serverUrl: services!.serverUrl, token: user.token, home, timeoutMs: 30 * 60_000 });
    const row = (what: string, run: CliUploadResult, note: string): BenchRow => ({
      measure: `dreamlake upload of ${fmt(count)} × ${kib(bytes)} (${what})`,
      result: `${fmt(count / run.seconds)} files/s (${fmt(run.seconds, 1)} s), CLI peak RSS ${run.peakRssMiB} MiB`,
      rawLimit: floorText(raw),
      note: `${((count / run.seconds / raw.filesPerSecond) * 100).toFixed(0)}% of the floor; ${note}`,
    });
    let first: CliUploadResult | undefined;
    log(`  dreamlake upload, ${count} files…`);
    try {
      first = await upload();
      rows.push(row('first upload', first, `${fmt(first.files)} files reported, ${fmt(first.skipped)} already stored`));
    } catch (error) {
      rows.push(failedRow(`dreamlake upload of ${fmt(count)} × ${kib(bytes)} (first upload)`, error, floorText(raw)));
    }
    if (first) {
      log('  the same upload again…');
      try {
        const again = await upload();
        rows.push(row('the same command again, everything stored', again, `${fmt(again.skipped)} of ${fmt(again.files)} files already stored, hashes from the CLI's cache`));
      } catch (error) {
        rows.push(failedRow(`dreamlake upload of ${fmt(count)} × ${kib(bytes)} (again, everything stored)`, error, floorText(raw)));
      }
    }
  } finally {
    await services?.close();
    await removeTemp(work);
  }
  return rows;
}

/** 100,000 × 1 KiB through counting proxies: time, peak RSS, requests; the floor on the same files. */
export async function runManyFilesBench(options: { count: number; bytes?: number }): Promise<BenchRow[]> {
  const { count } = options;
  const bytes = options.bytes ?? 1024;
  const measure = `dreamlake upload of ${fmt(count)} × ${kib(bytes)}: time, CLI peak RSS, HTTP requests sent`;
  const work = await tempDir('dreamlake-bench-many-');
  let services: BenchServices | undefined;
  const proxies: Array<{ close(): Promise<void> }> = [];
  try {
    log(`  writing ${fmt(count)} files…`);
    const files = await makeSmallFiles(work, 'many', count, bytes);
    settle();
    log('  floor on the same files…');
    const raw = await runRawSmallFiles(files.paths);
    const rawLimit = `${fmt(raw.seconds, 1)} s, ${fmt(raw.filesPerSecond)} files/s, ${fmt(raw.requests)} requests: raw small files on the same folder`;

    // Proxies first (BSS's address in signed URLs is its proxy's), then the services behind them.
    const bssPort = await freePort();
    const bssProxy = await startCountingProxy({ host: '127.0.0.1', port: bssPort });
    proxies.push(bssProxy);
    services = await BenchServices.start({ bssPort, bssPublicUrl: () => bssProxy.url });
    const serverProxy = await startCountingProxy({ host: '127.0.0.1', port: Number(new URL(services.serverUrl).port) });
    proxies.push(serverProxy);
    const user = await services.signup('many');
    log(`  dreamlake upload, ${fmt(count)} files (through counting proxies)…`);
    let run: CliUploadResult;
    try {
      run = await runCliUpload({ paths: [files.dir], to: `${user.username}/many`, serverUrl: serverProxy.url, token: user.token, home: join(work, 'home'), timeoutMs: 3 * 3600_000 });
    } catch (error) {
      return [failedRow(measure, error, rawLimit)];
    }
    const server = serverProxy.total();
    const bss = bssProxy.total();
    const total = server + bss;
    return [
      {
        measure,
        result: `${fmt(run.seconds, 1)} s (${fmt(count / run.seconds)} files/s), CLI peak RSS ${run.peakRssMiB} MiB, ${fmt(total)} requests (${fmt(total / count, 2)} per file)`,
        rawLimit,
        note: `server ${fmt(server)}, BSS ${fmt(bss)}; most: ${describeCounts(new Map([...serverProxy.counts, ...bssProxy.counts]), 5)}; ${((count / run.seconds / raw.filesPerSecond) * 100).toFixed(0)}% of the floor's files/s (the time includes the proxies)`,
      },
    ];
  } finally {
    await services?.close();
    for (const proxy of proxies) await proxy.close();
    log('  removing the files…');
    await removeTemp(work);
  }
}

/**
 * Downloads through the real `dreamlake` bin, each beside its floor measured in the same run:
 *
 * - one large file: `dreamlake download` against `curl` of the same signed URL piped into
 *   `sha256sum` (curl does not write the file; the CLI writes it and verifies it);
 * - a space of many small files: `dreamlake download NS/SPACE -o DIR` against a minimal Node client
 *   (its own process) that fetches the same signed URLs 16 at a time over keep-alive and writes
 *   each file, with the URLs handed to it in advance (the CLI asks for them itself).
 *
 * The two sides run alternately, back to back, and each row gives the median of its runs: wall
 * time on a shared machine is noisy, so the CPU seconds of each side (user + system, every process
 * of the command, from GNU time when the machine has it) are given too. The CLI is built again
 * before a run when one of its sources is newer than its build (ensureCliBuild), so that no run
 * measures the sources through tsx.
 *
 *   node --import tsx scripts/bench-downloads.ts [largeMiB] [files]   # this section alone
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCliBuild, runCliUpload } from './bench-cli.ts';
import { cpuSecondsOf } from './bench-machine.ts';
import type { BenchRow } from './bench-presign.ts';
import { BenchServices, CLI_BIN, ROOT, removeTemp, tempDir, track, watchPeakRss } from './bench-services.ts';
import { makeSmallFiles } from './bench-small-files.ts';

const MiB = 1024 * 1024;

export interface DownloadBenchOptions {
  largeMiB: number;
  files: number;
  bytesEach: number;
  /** Runs of each side, alternated; the median of each is given. */
  runs?: number;
}

interface Timed {
  seconds: number;
  /** CPU seconds BSS spent meanwhile (it serves both sides, on the same cores). */
  bssCpuSeconds: number;
  /** User + system CPU of the command and every process it started; NaN without GNU time. */
  cpuSeconds: number;
  peakRssMiB: number;
  /** The first 4 KB of stdout. */
  stdout: string;
  /** Non-empty lines on stdout. */
  lines: number;
  /** The last 4 KB of stderr. */
  stderr: string;
}

/** GNU time: the CPU seconds and peak RSS of a command with all its processes, counted by the kernel. */
const GNU_TIME = '/usr/bin/time';

/**
 * Runs a command, timing it, counting its CPU and sampling its peak RSS (GNU time's maximum, the
 * largest of its processes, when the machine has it); throws with its stderr when it fails.
 */
async function timed(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  bssPid = 0,
): Promise<Timed> {
  const bssBefore = bssPid ? await cpuSecondsOf(bssPid) : 0;
  const usage = existsSync(GNU_TIME) ? `${await tempDir('dreamlake-bench-time-')}/usage` : undefined;
  const argv = usage ? [GNU_TIME, '-f', '%U %S %M', '-o', usage, command, ...args] : [command, ...args];
  const started = performance.now();
  const child = track(spawn(argv[0] as string, argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const peak = watchPeakRss(child.pid ?? 0, 50);
  let stdout = '';
  let stderr = '';
  let lines = 0;
  let last = '\n';
  child.stdout?.on('data', (c: Buffer) => {
    const text = c.toString();
    if (stdout.length < 4096) stdout = (stdout + text).slice(0, 4096);
    for (let i = 0; i < text.length; i += 1) {
      if (text[i] === '\n' && last !== '\n') lines += 1;
      last = text[i] as string;
    }
  });
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const [code] = (await once(child, 'close')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  const bssCpuSeconds = bssPid ? (await cpuSecondsOf(bssPid)) - bssBefore : Number.NaN;
  if (code !== 0) throw new Error(`${command} ${args.slice(0, 3).join(' ')} exited with ${code}: ${stderr.trim()}`);
  // Sampled, the RSS of GNU time itself; its own count is of the command's processes.
  let peakRssMiB = peak();
  let cpuSeconds = Number.NaN;
  if (usage) {
    const [user, system, maxKb] =
      (await readFile(usage, 'utf8')).trim().split('\n').pop()?.split(' ').map(Number) ?? [];
    cpuSeconds = (user ?? Number.NaN) + (system ?? Number.NaN);
    peakRssMiB = Math.round(((maxKb ?? 0) / 1024) * 10) / 10;
    await removeTemp(dirname(usage));
  }
  return { seconds, bssCpuSeconds, cpuSeconds, peakRssMiB, stdout, lines, stderr };
}

/** The middle value (the mean of the two middle ones for an even count). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median wall and CPU seconds (its own and BSS's), and the highest peak RSS, of a side's runs. */
function summary(runs: readonly Timed[]): {
  seconds: number;
  cpuSeconds: number;
  bssCpuSeconds: number;
  peakRssMiB: number;
} {
  return {
    seconds: median(runs.map((r) => r.seconds)),
    cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    bssCpuSeconds: median(runs.map((r) => r.bssCpuSeconds)),
    peakRssMiB: Math.max(...runs.map((r) => r.peakRssMiB)),
  };
}

/**
 * Every run of both sides, pair by pair (each floor run and the CLI run right after it), so that a
 * ratio of medians can be read against the runs it came from: on the shared 2-core machine both
 * sides move with whatever else runs.
 */
function pairsText(floor: readonly Timed[], mine: readonly Timed[]): string {
  const pairs = mine.map((m, i) => {
    const f = floor[i] as Timed;
    return `${(f.seconds / m.seconds).toFixed(2)} (${f.seconds.toFixed(2)}/${m.seconds.toFixed(2)} s)`;
  });
  return `each pair, floor/CLI: ${pairs.join(', ')}`;
}

function bssText(seconds: number): string {
  return Number.isNaN(seconds) ? '' : `, BSS ${seconds.toFixed(2)} s CPU`;
}

function cpuText(seconds: number): string {
  return Number.isNaN(seconds) ? 'CPU not counted (no GNU time)' : `${seconds.toFixed(2)} s CPU`;
}

async function api<T>(services: BenchServices, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${services.serverUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The minimal client: fetch each URL, 16 at a time, write the body to its file. */
const MINIMAL_CLIENT = `
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
const jobs = JSON.parse(readFileSync(process.argv[1], 'utf8'));
let next = 0;
const worker = async () => {
  while (next < jobs.length) {
    const { url, path } = jobs[next++];
    const res = await fetch(url);
    if (!res.ok) throw new Error('HTTP ' + res.status);
    await writeFile(path, Buffer.from(await res.arrayBuffer()));
  }
};
await Promise.all(Array.from({ length: 16 }, worker));
`;

export async function runDownloadBench(options: DownloadBenchOptions): Promise<BenchRow[]> {
  const runs = options.runs ?? 3;
  const services = await BenchServices.start();
  const work = await tempDir('dreamlake-bench-downloads-');
  try {
    const { username, token } = await services.signup('dl');
    const home = join(work, 'home');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      DREAMLAKE_HOME: home,
      DREAMLAKE_SERVER: services.serverUrl,
      DREAMLAKE_TOKEN: token,
      NO_COLOR: '1',
    };
    const upload = (paths: string[], to: string) =>
      runCliUpload({ paths, to, serverUrl: services.serverUrl, token, home, timeoutMs: 1_800_000 });

    // One large file.
    const source = join(work, 'large.bin');
    await timed('sh', ['-c', `head -c ${options.largeMiB * MiB} /dev/urandom > "${source}"`], env);
    await upload([source], `${username}/large`);
    const grant = await api<{ url: string; hash: string }>(
      services,
      token,
      'GET',
      `/namespaces/${username}/spaces/large/files/download?name=large.bin`,
    );
    const curlRuns: Timed[] = [];
    const cliRuns: Timed[] = [];
    for (let run = 0; run < runs; run += 1) {
      const piped = await timed('sh', ['-c', `curl -sSf "$0" | sha256sum`, grant.url], env, services.bssPid);
      if (!piped.stdout.startsWith(grant.hash)) throw new Error('curl | sha256sum gave another hash');
      curlRuns.push(piped);
      const out = join(work, `large-${run}`);
      ensureCliBuild();
      cliRuns.push(
        await timed(
          process.execPath,
          [CLI_BIN, 'download', `${username}/large/large.bin`, '-o', `${out}`],
          env,
          services.bssPid,
        ),
      );
      await removeTemp(out);
    }
    const curl = summary(curlRuns);
    const cli = summary(cliRuns);
    const mibps = (s: number) => (options.largeMiB / s).toFixed(0);
    const rows: BenchRow[] = [
      {
        measure: `dreamlake download ${options.largeMiB} MiB (ranged GETs in parallel, SHA-256 verified, written to disk); median of ${runs}, alternated with curl`,
        result: `${mibps(cli.seconds)} MiB/s = ${(curl.seconds / cli.seconds).toFixed(2)} × curl, ${cpuText(cli.cpuSeconds)}${bssText(cli.bssCpuSeconds)}, CLI peak RSS ${cli.peakRssMiB} MiB (highest run); ${pairsText(curlRuns, cliRuns)}`,
        rawLimit: `${mibps(curl.seconds)} MiB/s, ${cpuText(curl.cpuSeconds)}${bssText(curl.bssCpuSeconds)}: \`curl\` of the same signed URL into \`sha256sum\` (nothing written)`,
        note: "target ≥ 0.95 × curl and peak RSS ≤ 100 MB; the CLI time includes its start and the grant request. `sha256sum` (coreutils' own SHA-256, not OpenSSL's: about 4.7 s of CPU per GiB here) is most of the floor's CPU, so that side is bound by one core and the CLI by its share of both with BSS",
      },
    ];
    await removeTemp(source);

    // A space of many small files.
    const small = await makeSmallFiles(work, 'small', options.files, options.bytesEach);
    await upload([small.dir], `${username}/small`);
    const names = small.paths.map((p) => `small/${p.slice(small.dir.length + 1)}`);
    const minimalRuns: Timed[] = [];
    const treeRuns: Timed[] = [];
    for (let run = 0; run < runs; run += 1) {
      const grants = await api<{ files: Array<{ url: string }> }>(services, token, 'POST', '/downloads/batch', {
        namespace: username,
        space: 'small',
        files: names.map((name) => ({ name })),
      });
      const floorDir = await tempDir('dreamlake-bench-dl-floor-');
      const jobsFile = join(work, 'jobs.json');
      await writeFile(
        jobsFile,
        JSON.stringify(grants.files.map((g, i) => ({ url: g.url, path: join(floorDir, `f${i}.bin`) }))),
      );
      const floor = await timed(
        process.execPath,
        ['--input-type=module', '-e', MINIMAL_CLIENT, jobsFile],
        env,
        services.bssPid,
      );
      minimalRuns.push(floor);
      await removeTemp(floorDir);
      const out = join(work, `tree-${run}`);
      ensureCliBuild();
      const mine = await timed(
        process.execPath,
        [CLI_BIN, 'download', `${username}/small`, '-o', out, '--json'],
        env,
        services.bssPid,
      );
      if (mine.lines !== options.files)
        throw new Error(
          `dreamlake download printed ${mine.lines} lines for ${options.files} files: ${mine.stderr.trim()}`,
        );
      treeRuns.push(mine);
      await removeTemp(out);
    }
    const kb = options.bytesEach / 1000;
    const minimal = summary(minimalRuns);
    const tree = summary(treeRuns);
    rows.push({
      measure: `dreamlake download of a space of ${options.files.toLocaleString('en')} × ${kb} KB (grants in one batch, 16 files at once); median of ${runs}, alternated`,
      result: `${tree.seconds.toFixed(2)} s = ${(minimal.seconds / tree.seconds).toFixed(2)} × the minimal client, ${cpuText(tree.cpuSeconds)}${bssText(tree.bssCpuSeconds)}, CLI peak RSS ${tree.peakRssMiB} MiB (highest run); ${pairsText(minimalRuns, treeRuns)}`,
      rawLimit: `${minimal.seconds.toFixed(2)} s, ${cpuText(minimal.cpuSeconds)}${bssText(minimal.bssCpuSeconds)}: minimal Node client (fetch 16 at a time, write each file; URLs given)`,
      note: 'target ≥ 0.5 ×; the CLI also lists the space, asks for the grants, checks each path, verifies each SHA-256 and renames into place',
    });
    return rows;
  } finally {
    await removeTemp(work);
    await services.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const largeMiB = Number(process.argv[2] ?? 1024);
  const files = Number(process.argv[3] ?? 1000);
  const rows = await runDownloadBench({ largeMiB, files, bytesEach: 20_000 });
  for (const row of rows) console.log(`| ${row.measure} | ${row.result} | ${row.rawLimit} | ${row.note ?? ''} |`);
}

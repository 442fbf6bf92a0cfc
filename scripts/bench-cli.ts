/**
 * Runs the real `dreamlake` bin (as a user would: its own home, a token in the environment) and
 * measures it from outside: wall time, peak RSS from /proc, and its `--json` lines counted as they
 * arrive (a run of 100,000 files prints 100,000 lines, which are not kept).
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cpuSecondsOf } from './bench-machine.ts';
import { CLI_BIN, ROOT, track, watchPeakRss } from './bench-services.ts';

export interface CliUploadOptions {
  paths: readonly string[];
  /** NAMESPACE/SPACE */
  to: string;
  serverUrl: string;
  token: string;
  home: string;
  extraArgs?: readonly string[];
  /** Give up (SIGTERM) after this long. */
  timeoutMs?: number;
}

export interface CliUploadResult {
  seconds: number;
  peakRssMiB: number;
  /** CPU seconds (user + system) of the CLI process, sampled until it exits. */
  cpuSeconds: number;
  /** Files done and already stored, from the summary line on stderr ("done: N files (M already stored), …"). */
  files: number;
  skipped: number;
  /** `--json` lines read on stdout (one per file is expected). */
  lines: number;
  /** The last lines of stderr (the summary line, or the error). */
  stderrTail: string;
}

/** The newest modification time of the files under a folder (as the bin looks at them). */
function newestUnder(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/**
 * The bin (packages/cli/bin/dreamlake.js) runs the CLI's sources through tsx when one is newer
 * than its build: measured that way, 1,000 × 20 KiB took about 2.1 s of CLI CPU instead of 1.5 s,
 * and 0.8 s instead of 0.45 s with everything stored, with 25 MiB more peak RSS. The bench builds
 * first, but a source saved during a run of several minutes turns every later CLI run into that:
 * the CLI is built again before the run that would have found it so.
 */
export function ensureCliBuild(): void {
  const cli = join(ROOT, 'packages/cli');
  const built = () => statSync(join(cli, 'dist/bin.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (built() >= newestUnder(join(cli, 'src'))) return;
  process.stderr.write('  (a CLI source is newer than its build: building the CLI again)\n');
  spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(cli, 'tsconfig.build.json')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (built() < newestUnder(join(cli, 'src')))
    throw new Error('the CLI would run its sources through tsx: its build is older than packages/cli/src');
}

export async function runCliUpload(options: CliUploadOptions): Promise<CliUploadResult> {
  ensureCliBuild();
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: options.home,
    DREAMLAKE_HOME: options.home,
    DREAMLAKE_SERVER: options.serverUrl,
    DREAMLAKE_TOKEN: options.token,
    NO_COLOR: '1',
  };
  const args = [CLI_BIN, 'upload', ...options.paths, '--to', options.to, '--json', ...(options.extraArgs ?? [])];
  const started = performance.now();
  const child = track(spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const peak = watchPeakRss(child.pid ?? 0, 100);
  let cpuSeconds = 0;
  const cpuTimer = setInterval(
    () => void cpuSecondsOf(child.pid ?? 0).then((s) => (cpuSeconds = Math.max(cpuSeconds, s))),
    100,
  );
  let lines = 0;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.trim() !== '') lines += 1;
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), options.timeoutMs) : undefined;
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  clearInterval(cpuTimer);
  const seconds = (performance.now() - started) / 1000;
  const peakRssMiB = peak();
  const stderrTail = stderr.trim().split('\n').slice(-5).join('\n');
  if (code !== 0) {
    throw new Error(
      `dreamlake upload exited with ${code ?? signal} after ${seconds.toFixed(1)} s and ${lines} --json lines: ${stderrTail}`,
    );
  }
  const summary = /done: ([\d,]+) files?(?: \(([\d,]+) already stored\))?/.exec(stderr);
  const num = (text: string | undefined) => Number((text ?? '0').replace(/,/g, ''));
  return {
    seconds,
    peakRssMiB,
    cpuSeconds,
    files: summary ? num(summary[1]) : -1,
    skipped: num(summary?.[2]),
    lines,
    stderrTail,
  };
}

/** Wall time of `dreamlake --version` (Node, tsx, the command's modules): the fixed cost of any command. Median of 3. */
export async function cliStartupSeconds(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    const started = performance.now();
    const child = track(
      spawn(process.execPath, [CLI_BIN, '--version'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '' },
        stdio: 'ignore',
      }),
    );
    await once(child, 'close');
    times.push((performance.now() - started) / 1000);
  }
  return times.sort((a, b) => a - b)[1] ?? 0;
}

/**
 * Prints the process's peak RSS (KiB) to stderr as it exits: the same hook for every command
 * measured. The kernel's high-water mark of the process's own memory (`VmHWM`), not getrusage's
 * `maxRSS`: on Linux that one carries over the high-water mark of the process before its exec,
 * here the bench's own fork of itself (about 90 MiB), whatever the command then used.
 */
const RSS_HOOK = `data:text/javascript,import{readFileSync}from'node:fs';process.on('exit',()=>process.stderr.write('maxrss='+(/VmHWM:\\s*(\\d+)/.exec(readFileSync('/proc/self/status','utf8'))||[0,0])[1]+'\\n'))`;

/** Wall time and peak RSS of one short command (`node ARGS`): the medians of 5 runs. */
export async function commandCost(args: readonly string[]): Promise<{ seconds: number; rssMiB: number }> {
  const times: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    const started = performance.now();
    const child = track(
      spawn(process.execPath, ['--import', RSS_HOOK, ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '' },
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    await once(child, 'close');
    times.push((performance.now() - started) / 1000);
    rss.push(Number(/maxrss=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024);
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[2] ?? 0;
  return { seconds: median(times), rssMiB: median(rss) };
}

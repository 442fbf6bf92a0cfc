/**
 * Downloads through the real `dreamlake` bin, each beside its floor measured in the same run:
 *
 * - one large file: `dreamlake download` against `curl` of the same signed URL piped into
 *   `sha256sum` (curl does not write the file; the CLI writes it and verifies it);
 * - a space of many small files: `dreamlake download NS/SPACE -o DIR` against a minimal Node client
 *   (its own process) that fetches the same signed URLs 16 at a time over keep-alive and writes
 *   each file, with the URLs handed to it in advance (the CLI asks for them itself).
 *
 *   node --import tsx scripts/bench-downloads.ts [largeMiB] [files]   # this section alone
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCliUpload } from './bench-cli.ts';
import type { BenchRow } from './bench-presign.ts';
import { BenchServices, CLI_BIN, ROOT, removeTemp, tempDir, track, watchPeakRss } from './bench-services.ts';
import { makeSmallFiles } from './bench-small-files.ts';

const MiB = 1024 * 1024;

export interface DownloadBenchOptions {
  largeMiB: number;
  files: number;
  bytesEach: number;
  /** Runs of each side; the best of each is kept. */
  runs?: number;
}

interface Timed {
  seconds: number;
  peakRssMiB: number;
  /** The first 4 KB of stdout. */
  stdout: string;
  /** Non-empty lines on stdout. */
  lines: number;
  /** The last 4 KB of stderr. */
  stderr: string;
}

/** Runs a command, timing it and sampling its peak RSS; throws with its stderr when it fails. */
async function timed(command: string, args: readonly string[], env: Record<string, string>): Promise<Timed> {
  const started = performance.now();
  const child = track(spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
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
  if (code !== 0) throw new Error(`${command} ${args.slice(0, 3).join(' ')} exited with ${code}: ${stderr.trim()}`);
  return { seconds, peakRssMiB: peak(), stdout, lines, stderr };
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
  const runs = options.runs ?? 2;
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
    let curl = Number.POSITIVE_INFINITY;
    let cli: Timed | undefined;
    for (let run = 0; run < runs; run += 1) {
      const piped = await timed('sh', ['-c', `curl -sSf "$0" | sha256sum`, grant.url], env);
      if (!piped.stdout.startsWith(grant.hash)) throw new Error('curl | sha256sum gave another hash');
      curl = Math.min(curl, piped.seconds);
      const out = join(work, `large-${run}`);
      const mine = await timed(
        process.execPath,
        [CLI_BIN, 'download', `${username}/large/large.bin`, '-o', `${out}`],
        env,
      );
      if (!cli || mine.seconds < cli.seconds) cli = mine;
      await removeTemp(out);
    }
    const mibps = (s: number) => (options.largeMiB / s).toFixed(0);
    const rows: BenchRow[] = [
      {
        measure: `dreamlake download ${options.largeMiB} MiB (ranged GETs in parallel, SHA-256 verified, written to disk); best of ${runs}`,
        result: `${mibps(cli?.seconds ?? 0)} MiB/s = ${(curl / (cli?.seconds ?? 1)).toFixed(2)} × curl, CLI peak RSS ${cli?.peakRssMiB} MiB`,
        rawLimit: `${mibps(curl)} MiB/s \`curl\` of the same signed URL into \`sha256sum\` (nothing written)`,
        note: 'target ≥ 0.95 × curl; the CLI time includes its start and the grant request',
      },
    ];
    await removeTemp(source);

    // A space of many small files.
    const small = await makeSmallFiles(work, 'small', options.files, options.bytesEach);
    await upload([small.dir], `${username}/small`);
    const names = small.paths.map((p) => `small/${p.slice(small.dir.length + 1)}`);
    let minimal = Number.POSITIVE_INFINITY;
    let tree: Timed | undefined;
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
      const floor = await timed(process.execPath, ['--input-type=module', '-e', MINIMAL_CLIENT, jobsFile], env);
      minimal = Math.min(minimal, floor.seconds);
      await removeTemp(floorDir);
      const out = join(work, `tree-${run}`);
      const mine = await timed(process.execPath, [CLI_BIN, 'download', `${username}/small`, '-o', out, '--json'], env);
      if (mine.lines !== options.files)
        throw new Error(
          `dreamlake download printed ${mine.lines} lines for ${options.files} files: ${mine.stderr.trim()}`,
        );
      if (!tree || mine.seconds < tree.seconds) tree = mine;
      await removeTemp(out);
    }
    const kb = options.bytesEach / 1000;
    rows.push({
      measure: `dreamlake download of a space of ${options.files.toLocaleString('en')} × ${kb} KB (grants in one batch, 16 files at once); best of ${runs}`,
      result: `${(tree?.seconds ?? 0).toFixed(2)} s = ${(minimal / (tree?.seconds ?? 1)).toFixed(2)} × the minimal client, CLI peak RSS ${tree?.peakRssMiB} MiB`,
      rawLimit: `${minimal.toFixed(2)} s minimal Node client (fetch 16 at a time, write each file; URLs given)`,
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

/**
 * BSS's own cost per small single-shot upload (disk backend): a BSS child process receives
 * `files` single-shot PUTs of `bytes` random bytes each, `concurrency` at a time over keep-alive,
 * and the bench reports the child's CPU time per file (from /proc, so the client's work is not
 * counted) and, with `--strace`, the system calls it made (strace -c -f attached to it).
 *
 *   npx tsx packages/bss/bench/small-singles.ts [files] [bytes] [concurrency] [--strace] [--cpu-prof=DIR]
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { presign } from '@dreamlake/presign';
import { mapLimit } from '@dreamlake/protocol';
import { freePort, startCommand, stopChild, waitHealthy } from '../../../support/process.ts';

/** User and system CPU seconds of a process so far. */
async function cpuSecondsOf(pid: number): Promise<{ user: number; system: number }> {
  // Fields after the command name (which may hold spaces) start at the third: utime is the 14th.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tick = 100;
  return { user: Number(fields[11]) / tick, system: Number(fields[12]) / tick };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const withStrace = process.argv.includes('--strace');
  const profileDir = process.argv.find((a) => a.startsWith('--cpu-prof='))?.slice('--cpu-prof='.length);
  const files = Number(args[0] ?? 1000);
  const bytes = Number(args[1] ?? 20 * 1024);
  const concurrency = Number(args[2] ?? 16);
  const dir = await mkdtemp(join(tmpdir(), 'bss-bench-singles-'));
  const secret = randomBytes(32).toString('hex');
  const port = await freePort();
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const bss = startCommand(process.execPath, [...profile, '--import', 'tsx', main], {
    env: {
      PRESIGN_SECRETS: secret,
      BSS_PORT: String(port),
      DREAMLAKE_DATA_DIR: dir,
      LOG_LEVEL: 'warn',
      SWEEP_INTERVAL_SECONDS: '0',
    },
    keep: 200,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(bss, `${url}/healthz`, 'BSS');
  const pid = bss.child.pid as number;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    const bodies = Array.from({ length: files }, () => randomBytes(bytes));
    const now = Math.floor(Date.now() / 1000);
    const urls = bodies.map((body) => {
      const hash = createHash('sha256').update(body).digest('hex');
      const params = { owner: 'bench', project: 'singles', hash, size: String(body.length) };
      const { query } = presign({ action: 'upload-single', params, secrets: [secret], now, ttlSeconds: 3600 });
      return `${url}/files/upload/single?${new URLSearchParams(query)}`;
    });
    // One request first, so the routes and the storage folders are warm in both runs alike.
    const warm = randomBytes(bytes);
    const warmHash = createHash('sha256').update(warm).digest('hex');
    const warmQuery = presign({
      action: 'upload-single',
      params: { owner: 'bench', project: 'singles', hash: warmHash, size: String(bytes) },
      secrets: [secret],
      now,
      ttlSeconds: 3600,
    }).query;
    await send(`${url}/files/upload/single?${new URLSearchParams(warmQuery)}`, warm);

    const strace = withStrace
      ? spawn('strace', ['-c', '-f', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
      : undefined;
    const straceOut: string[] = [];
    strace?.stderr?.on('data', (chunk: Buffer) => straceOut.push(chunk.toString()));
    if (strace) await new Promise((resolve) => setTimeout(resolve, 1000));

    const before = await cpuSecondsOf(pid);
    const started = performance.now();
    await mapLimit(bodies, concurrency, (body, i) => send(urls[i] as string, body));
    const seconds = (performance.now() - started) / 1000;
    const after = await cpuSecondsOf(pid);
    if (strace) {
      strace.kill('SIGINT');
      await new Promise((resolve) => strace.once('close', resolve));
    }
    const user = after.user - before.user;
    const system = after.system - before.system;
    process.stdout.write(
      `${JSON.stringify({
        files,
        bytes,
        concurrency,
        seconds: Number(seconds.toFixed(2)),
        filesPerSecond: Math.round(files / seconds),
        bssCpuMsPerFile: Number((((user + system) * 1000) / files).toFixed(3)),
        bssUserMsPerFile: Number(((user * 1000) / files).toFixed(3)),
        bssSystemMsPerFile: Number(((system * 1000) / files).toFixed(3)),
      })}\n`,
    );
    if (strace) process.stdout.write(straceOut.join(''));
  } finally {
    agent.destroy();
    await stopChild(bss);
    await rm(dir, { recursive: true, force: true });
  }

  function send(url: string, body: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method: 'PUT',
        agent,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          res.statusCode === 200
            ? resolve()
            : reject(new Error(`single PUT: ${res.statusCode} ${Buffer.concat(chunks).toString()}`)),
        );
      });
      req.end(body);
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});

/**
 * What the soak measures of a running service, from outside: resident set (VmRSS of
 * /proc/PID/status), V8 heap used (prom-client's `nodejs_heap_size_used_bytes` on its /metrics,
 * with the metrics token), open file descriptors (entries of /proc/PID/fd) and, of those, sockets
 * (`socket:[…]` links). The descriptors are counted before /metrics is asked, so the scrape's own
 * connection is not among them.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

export interface ProcessSample {
  rssMiB: number;
  heapMiB: number;
  fds: number;
  sockets: number;
}

export type Phase = 'warm-up' | 'quiet 1' | 'load' | 'quiet 2';

export interface Sample {
  /** Seconds since the load began. */
  t: number;
  phase: Phase;
  server: ProcessSample;
  bss: ProcessSample;
}

const MIB = 1024 * 1024;

async function descriptors(pid: number): Promise<{ fds: number; sockets: number }> {
  const names = await readdir(`/proc/${pid}/fd`);
  let sockets = 0;
  for (const name of names) {
    const target = await readlink(`/proc/${pid}/fd/${name}`).catch(() => '');
    if (target.startsWith('socket:')) sockets += 1;
  }
  return { fds: names.length, sockets };
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

async function heapMiB(baseUrl: string, token: string): Promise<number> {
  const res = await fetch(`${baseUrl}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${baseUrl}/metrics answered ${res.status}: ${text.slice(0, 200)}`);
  const bytes = Number(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
  return bytes / MIB;
}

/** One sample of one process (its pid) serving at `baseUrl`. */
export async function sampleProcess(pid: number, baseUrl: string, metricsToken: string): Promise<ProcessSample> {
  const { fds, sockets } = await descriptors(pid);
  const rss = await rssMiB(pid);
  return { rssMiB: rss, heapMiB: await heapMiB(baseUrl, metricsToken), fds, sockets };
}

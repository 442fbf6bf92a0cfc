/**
 * What the soak measures of a running service, from outside: resident set (VmRSS of
 * /proc/PID/status, and of it RssAnon and RssFile), V8 heap used (prom-client's `nodejs_heap_size_used_bytes` on its /metrics,
 * with the metrics token; and `nodejs_external_memory_bytes`, the Buffers outside it), open file descriptors (entries of /proc/PID/fd) and, of those, sockets
 * (`socket:[…]` links). The descriptors are counted before /metrics is asked, so the scrape's own
 * connection is not among them.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

export interface ProcessSample {
  rssMiB: number;
  /** Of the RSS: anonymous memory (heaps, malloc) and mapped files (code, a database's pages). */
  rssAnonMiB: number;
  rssFileMiB: number;
  heapMiB: number;
  /** Memory held outside the V8 heap by JS objects (Buffers above all): `nodejs_external_memory_bytes`. */
  externalMiB: number;
  fds: number;
  sockets: number;
}

/** Load (the first one the warm-up), or the quiet period after it (its last sample taken at rest). */
export type Phase = 'warm-up' | 'load' | 'quiet';

export interface Sample {
  /** Seconds since the load began. */
  t: number;
  phase: Phase;
  /** 0 for the warm-up and the quiet period after it, then 1, 2, … for each load and its quiet period. */
  cycle: number;
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

async function rss(pid: number): Promise<{ rssMiB: number; rssAnonMiB: number; rssFileMiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)\\s+kB`).exec(status)?.[1] ?? Number.NaN) / 1024;
  return { rssMiB: field('VmRSS'), rssAnonMiB: field('RssAnon'), rssFileMiB: field('RssFile') };
}

async function memoryMiB(baseUrl: string, token: string): Promise<{ heapMiB: number; externalMiB: number }> {
  const res = await fetch(`${baseUrl}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${baseUrl}/metrics answered ${res.status}: ${text.slice(0, 200)}`);
  const metric = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / MIB;
  return { heapMiB: metric('nodejs_heap_size_used_bytes'), externalMiB: metric('nodejs_external_memory_bytes') };
}

/** One sample of one process (its pid) serving at `baseUrl`. */
export async function sampleProcess(pid: number, baseUrl: string, metricsToken: string): Promise<ProcessSample> {
  const { fds, sockets } = await descriptors(pid);
  const memory = await rss(pid);
  return { ...memory, ...(await memoryMiB(baseUrl, metricsToken)), fds, sockets };
}

/**
 * A small HTTP load generator on undici: N keep-alive connections, each sending one request at a
 * time (no pipelining) for a fixed time after a warm-up, measuring requests per second and
 * latency percentiles. Meant to run in its own process, apart from the server it loads.
 */
import { Pool } from 'undici';
import { cpuShare, machineBusySeconds } from './bench-machine.ts';

export interface LoadRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface LoadOptions {
  /** Origin, e.g. http://127.0.0.1:1234. */
  origin: string;
  connections: number;
  durationMs: number;
  /** Requests sent (and not measured) before the measured window, to warm the JIT and the pools. */
  warmupMs?: number;
  /** The n-th request (0, 1, 2, …); called once per request. */
  request: (n: number) => LoadRequest;
  /**
   * How many successes a 2xx answer counts for (default 1): 0 or false makes it a failure (e.g. a
   * grant refused inside a 200), a number above 1 counts the items of a batch.
   */
  check?: (status: number, body: string) => number | boolean;
  /** Processes whose CPU use during the measured window is reported (the servers under load). */
  watchPids?: readonly number[];
}

export interface LoadResult {
  requests: number;
  /** Successful answers per second in the measured window. */
  perSecond: number;
  /** Successes as counted by `check` (items of a batch), per second. */
  itemsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers that were not a success, by status (0 for a network error), with one example. */
  failures: Record<string, number>;
  example?: string;
  /** Share of one core the load generator (this process) used during the measured window. */
  clientCpu: number;
  /** Share of one core each of `watchPids` used during the measured window. */
  cpu: number[];
  /** Share of one core every other process of the machine used during the window (a disturbance). */
  othersCpu: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round((sorted[i] ?? 0) * 100) / 100;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(options.origin, { connections: options.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  let n = 0;
  let measuring = false;
  let stopping = false;
  const latencies: number[] = [];
  let ok = 0;
  let items = 0;
  const failures: Record<string, number> = {};
  let example: string | undefined;

  const worker = async (): Promise<void> => {
    while (!stopping) {
      const req = options.request(n++);
      const started = performance.now();
      let status = 0;
      let body = '';
      try {
        const res = await pool.request({ method: req.method, path: req.path, headers: req.headers, body: req.body });
        status = res.statusCode;
        body = await res.body.text();
      } catch (error) {
        body = (error as Error).message;
      }
      const ms = performance.now() - started;
      if (!measuring || stopping) continue;
      latencies.push(ms);
      const score = status >= 200 && status < 300 ? Number(options.check?.(status, body) ?? 1) : 0;
      if (score > 0) {
        ok += 1;
        items += score;
      } else {
        failures[String(status)] = (failures[String(status)] ?? 0) + 1;
        example ??= `${status} ${body.slice(0, 300)}`;
      }
    }
  };

  const workers = Array.from({ length: options.connections }, () => worker());
  await new Promise((r) => setTimeout(r, options.warmupMs ?? 1000));
  measuring = true;
  const started = performance.now();
  const ownCpu = process.cpuUsage();
  const watched = await cpuShare(options.watchPids ?? []);
  const machineBefore = await machineBusySeconds();
  await new Promise((r) => setTimeout(r, options.durationMs));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(ownCpu);
  const cpu = await watched();
  const machine = ((await machineBusySeconds()) - machineBefore) / seconds;
  stopping = true;
  await Promise.all(workers);
  await pool.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    perSecond: Math.round(ok / seconds),
    itemsPerSecond: Math.round(items / seconds),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    failures,
    ...(example === undefined ? {} : { example }),
    clientCpu: (used.user + used.system) / 1e6 / seconds,
    cpu,
    othersCpu: Math.max(0, machine - (used.user + used.system) / 1e6 / seconds - cpu.reduce((a, b) => a + b, 0)),
  };
}

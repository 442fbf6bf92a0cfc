import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';

/** What the bench asks of the load client. */
export interface LoadOptions {
  url: string;
  path: string;
  token: string;
  connections: number;
  seconds: number;
  /** Fields of every JSON body; `hash` is filled in per request, distinct each time. */
  body: Record<string, unknown> | null;
}

export interface LoadResult {
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  seconds: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Runs in its own process so the load does not share the server's event loop. */
async function run(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.path, options.url);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let sequence = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;

  const once = () =>
    new Promise<void>((resolve) => {
      const hash = createHash('sha256').update(`bench-${process.pid}-${sequence++}`).digest('hex');
      const payload = options.body ? JSON.stringify({ ...options.body, hash }) : undefined;
      const t0 = performance.now();
      const req = request(
        target,
        {
          method: payload ? 'POST' : 'GET',
          agent,
          headers: {
            authorization: `Bearer ${options.token}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(payload);
    });

  const loop = async () => {
    while (performance.now() < deadline) await once();
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    requests: latencies.length,
    errors,
    statuses,
    seconds: round(seconds),
    reqPerSec: Math.round(latencies.length / seconds),
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    maxMs: round(at(1)),
  };
}

if (process.argv[2]) {
  const result = await run(JSON.parse(process.argv[2]) as LoadOptions);
  process.stdout.write(JSON.stringify(result));
}

/**
 * Upload grants under load: `POST /uploads/init` (one file per request, distinct random hashes)
 * and `POST /uploads/batch` (1,000 files per request) on the real server, beside the floor of a
 * bare Fastify route that only verifies the same kind of JWT, loaded the same way.
 * The load generator runs in this process; every server runs in its own.
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import { startJwtFloor } from './bench-jwt-floor.ts';
import { type LoadResult, runLoad } from './bench-load.ts';
import type { BenchRow } from './bench-presign.ts';
import type { BenchServices } from './bench-services.ts';

export interface GrantBenchOptions {
  services: BenchServices;
  durationMs: number;
  connections?: number;
  /** Concurrent batch requests. */
  batchConcurrency?: number;
  batchSize?: number;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (share: number | undefined) => `${Math.round((share ?? 0) * 100)}%`;
/** Who was busy: the servers' and the load generator's CPU, in shares of one core. */
const cpuText = (r: LoadResult, names: readonly string[]) =>
  `CPU ${[...names.map((name, i) => `${name} ${pct(r.cpu[i])}`), `load generator ${pct(r.clientCpu)}`, `other processes ${pct(r.othersCpu)}`].join(', ')}`;
const failures = (r: LoadResult) => {
  const list = Object.entries(r.failures);
  return list.length === 0
    ? ''
    : `; not counted: ${list.map(([s, n]) => `${n} × ${s === '0' ? 'network error' : s}`).join(', ')} (e.g. ${r.example})`;
};

/** One file entry of a grant request: a distinct random hash each time. */
function fileEntry(n: number) {
  return {
    filename: `grants/${n}.bin`,
    hash: randomBytes(32).toString('hex'),
    contentType: 'application/octet-stream',
    type: 'files',
    size: 20_480,
  };
}

/** Whether the server has `POST /uploads/batch` (a missing route is 404 "no route for …"). */
async function batchRoute(serverUrl: string, token: string, namespace: string): Promise<boolean> {
  const res = await fetch(`${serverUrl}/uploads/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ namespace, space: 'grants', files: [fileEntry(0)] }),
  });
  const text = await res.text();
  if (res.status === 404 && /no route/i.test(text)) return false;
  if (!res.ok) throw new Error(`POST /uploads/batch answered ${res.status}: ${text.slice(0, 300)}`);
  return true;
}

export async function runGrantBench(options: GrantBenchOptions): Promise<BenchRow[]> {
  const connections = options.connections ?? 50;
  const batchConcurrency = options.batchConcurrency ?? 4;
  const batchSize = options.batchSize ?? 1000;
  const { services, durationMs } = options;

  // The real server, a real user's JWT (as `dreamlake login` keeps it).
  const user = await services.signup('grants');
  const headers = { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' };
  // The space exists before the load starts (the first grant creates it).
  const warm = new Pool(services.serverUrl, { connections: 1 });
  const first = await warm.request({
    method: 'POST',
    path: '/uploads/init',
    headers,
    body: JSON.stringify({ namespace: user.username, space: 'grants', ...fileEntry(0) }),
  });
  const firstText = await first.body.text();
  await warm.close();
  if (first.statusCode !== 200)
    throw new Error(`POST /uploads/init answered ${first.statusCode}: ${firstText.slice(0, 300)}`);

  // Floor: the bare JWT route, measured just before and just after /uploads/init (a busy machine
  // drifts: the ratio is taken to the mean of the two). The floor server idles in between.
  const floor = await startJwtFloor();
  const floorBody = JSON.stringify({ namespace: 'bench', space: 'grants', ...fileEntry(0) });
  const loadFloor = () =>
    runLoad({
      origin: floor.origin,
      connections,
      durationMs,
      watchPids: [floor.pid],
      request: () => ({
        method: 'POST',
        path: '/check',
        headers: { authorization: `Bearer ${floor.token}`, 'content-type': 'application/json' },
        body: floorBody,
      }),
    });
  let bare: LoadResult;
  let bareAfter: LoadResult;
  let init: LoadResult;
  try {
    bare = await loadFloor();

    init = await runLoad({
      origin: services.serverUrl,
      connections,
      durationMs,
      watchPids: [services.serverPid, services.bssPid],
      request: (n) => ({
        method: 'POST',
        path: '/uploads/init',
        headers,
        body: JSON.stringify({ namespace: user.username, space: 'grants', ...fileEntry(n + 1) }),
      }),
      check: (_status, body) => body.includes('"initUrl"'),
    });
    bareAfter = await loadFloor();
  } finally {
    await floor.stop();
  }
  const floorMean = (bare.perSecond + bareAfter.perSecond) / 2;

  const rows: BenchRow[] = [
    {
      measure: `POST /uploads/init, one file per request (distinct random hashes, ${connections} connections, ${durationMs / 1000} s)`,
      result: `${fmt(init.perSecond)} req/s, p50 ${init.p50Ms} ms, p99 ${init.p99Ms} ms`,
      rawLimit: `${fmt(bare.perSecond)} req/s before, ${fmt(bareAfter.perSecond)} after (p50 ${bare.p50Ms}/${bareAfter.p50Ms} ms, p99 ${bare.p99Ms}/${bareAfter.p99Ms} ms): bare Fastify route verifying the JWT`,
      note: `${((init.perSecond / floorMean) * 100).toFixed(0)}% of the floor (mean of before and after); ${cpuText(init, ['server', 'BSS'])}; floor before: ${cpuText(bare, ['server'])}${failures(init)}${failures(bare)}${failures(bareAfter)}`,
    },
  ];

  // A batch takes the better part of a second: a longer window for enough of them.
  const batchDurationMs = Math.max(durationMs, 5000);
  const batchMeasure = `POST /uploads/batch, ${fmt(batchSize)} files per request (${batchConcurrency} at a time, ${batchDurationMs / 1000} s)`;
  if (!(await batchRoute(services.serverUrl, user.token, user.username))) {
    rows.push({ measure: batchMeasure, result: 'not available (the server has no /uploads/batch)', rawLimit: '-' });
    return rows;
  }
  let offset = 1_000_000;
  const batch = await runLoad({
    origin: services.serverUrl,
    connections: batchConcurrency,
    durationMs: batchDurationMs,
    watchPids: [services.serverPid, services.bssPid],
    request: () => {
      const files = Array.from({ length: batchSize }, () => fileEntry(offset++));
      return {
        method: 'POST',
        path: '/uploads/batch',
        headers,
        body: JSON.stringify({ namespace: user.username, space: 'grants', files }),
      };
    },
    check: (_status, body) => {
      const answer = JSON.parse(body) as { files?: Array<{ initUrl?: string }> };
      return (answer.files ?? []).filter((f) => typeof f.initUrl === 'string').length;
    },
  });
  rows.push({
    measure: batchMeasure,
    result: `${fmt(batch.itemsPerSecond)} files/s granted (${fmt(batch.perSecond)} req/s, p50 ${batch.p50Ms} ms, p99 ${batch.p99Ms} ms)`,
    rawLimit: `${fmt(floorMean)} req/s bare JWT route`,
    note: `${(batch.itemsPerSecond / init.perSecond).toFixed(1)}× the files/s of /uploads/init; ${cpuText(batch, ['server', 'BSS'])}${failures(batch)}`,
  });
  return rows;
}

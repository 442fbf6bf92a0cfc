/**
 * "Flat after warm-up", in numbers. For each service:
 *
 * - RSS and heap used: the least-squares slope over the samples of the load after the first
 *   quiet period (the warm-up third and the pauses left out) stays under LIMITS.rssMiBPerMin and
 *   LIMITS.heapMiBPerMin;
 * - heap used, open descriptors and sockets when the load pauses: at the end of the last quiet
 *   period they are back to where they were at the end of the quiet period after warm-up, within
 *   LIMITS.quietHeapMiB, LIMITS.quietFds and LIMITS.quietSockets.
 *
 * The slope catches memory that grows with the work done; the quiet comparison catches what the
 * load leaves behind (a descriptor or socket per request, a cache that never empties), which a
 * slope taken under load hides in the noise of the requests in flight.
 */
import type { Phase, ProcessSample, Sample } from './soak-samples.ts';

export const LIMITS = {
  rssMiBPerMin: 2,
  heapMiBPerMin: 1.5,
  quietHeapMiB: 8,
  quietFds: 6,
  quietSockets: 4,
};

type Series = keyof ProcessSample;
type Service = 'server' | 'bss';

export interface SeriesReport {
  service: Service;
  series: Series;
  start: number;
  end: number;
  slopePerMin: number;
  quiet1: number;
  quiet2: number;
}

export interface Check {
  what: string;
  ok: boolean;
}

/** Least-squares slope of y over x (x in seconds), per minute; 0 with fewer than two points. */
export function slopePerMinute(points: ReadonlyArray<readonly [number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

const lastOf = (samples: readonly Sample[], phase: Phase): Sample | undefined =>
  samples.filter((s) => s.phase === phase).at(-1);

export function seriesReports(samples: readonly Sample[]): SeriesReport[] {
  const load = samples.filter((s) => s.phase === 'load');
  const q1 = lastOf(samples, 'quiet 1');
  const q2 = lastOf(samples, 'quiet 2');
  const reports: SeriesReport[] = [];
  for (const service of ['server', 'bss'] as const) {
    for (const series of ['rssMiB', 'heapMiB', 'fds', 'sockets'] as const) {
      reports.push({
        service,
        series,
        start: samples[0]?.[service][series] ?? Number.NaN,
        end: samples.at(-1)?.[service][series] ?? Number.NaN,
        slopePerMin: slopePerMinute(load.map((s) => [s.t, s[service][series]] as const)),
        quiet1: q1?.[service][series] ?? Number.NaN,
        quiet2: q2?.[service][series] ?? Number.NaN,
      });
    }
  }
  return reports;
}

/** The flatness checks of the verdict, one per service and rule. */
export function flatnessChecks(reports: readonly SeriesReport[]): Check[] {
  const checks: Check[] = [];
  const find = (service: Service, series: Series) =>
    reports.find((r) => r.service === service && r.series === series) as SeriesReport;
  for (const service of ['server', 'bss'] as const) {
    const rss = find(service, 'rssMiB');
    const heap = find(service, 'heapMiB');
    const fds = find(service, 'fds');
    const sockets = find(service, 'sockets');
    checks.push(
      {
        what: `${service} RSS slope under load after warm-up ${fmt(rss.slopePerMin, 2)} MiB/min < ${LIMITS.rssMiBPerMin}`,
        ok: rss.slopePerMin < LIMITS.rssMiBPerMin,
      },
      {
        what: `${service} heap slope under load after warm-up ${fmt(heap.slopePerMin, 2)} MiB/min < ${LIMITS.heapMiBPerMin}`,
        ok: heap.slopePerMin < LIMITS.heapMiBPerMin,
      },
      {
        what: `${service} heap at rest ${fmt(heap.quiet2, 1)} MiB <= ${fmt(heap.quiet1, 1)} + ${LIMITS.quietHeapMiB}`,
        ok: heap.quiet2 <= heap.quiet1 + LIMITS.quietHeapMiB,
      },
      {
        what: `${service} open fds at rest ${fds.quiet2} <= ${fds.quiet1} + ${LIMITS.quietFds}`,
        ok: fds.quiet2 <= fds.quiet1 + LIMITS.quietFds,
      },
      {
        what: `${service} open sockets at rest ${sockets.quiet2} <= ${sockets.quiet1} + ${LIMITS.quietSockets}`,
        ok: sockets.quiet2 <= sockets.quiet1 + LIMITS.quietSockets,
      },
    );
  }
  return checks;
}

export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

/** The samples as a fixed-width table. */
export function sampleTable(samples: readonly Sample[]): string {
  const head = [
    't s',
    'phase',
    'srv RSS',
    'srv heap',
    'srv fd',
    'srv sock',
    'bss RSS',
    'bss heap',
    'bss fd',
    'bss sock',
  ];
  const rows = samples.map((s) => [
    String(Math.round(s.t)),
    s.phase,
    fmt(s.server.rssMiB),
    fmt(s.server.heapMiB),
    String(s.server.fds),
    String(s.server.sockets),
    fmt(s.bss.rssMiB),
    fmt(s.bss.heapMiB),
    String(s.bss.fds),
    String(s.bss.sockets),
  ]);
  return table([head, ...rows]);
}

/** Per series: first and last sample, slope under load after warm-up, and the two quiet values. */
export function seriesTable(reports: readonly SeriesReport[]): string {
  const unit = (s: Series) => (s === 'rssMiB' || s === 'heapMiB' ? ' MiB' : '');
  const name = { rssMiB: 'RSS', heapMiB: 'heap used', fds: 'open fds', sockets: 'sockets' } as const;
  const head = ['service', 'series', 'start', 'end', 'slope/min (load)', 'quiet 1', 'quiet 2'];
  const rows = reports.map((r) => {
    const d = r.series === 'rssMiB' || r.series === 'heapMiB' ? 1 : 0;
    return [
      r.service,
      name[r.series] + unit(r.series),
      fmt(r.start, d),
      fmt(r.end, d),
      fmt(r.slopePerMin, 2),
      fmt(r.quiet1, d),
      fmt(r.quiet2, d),
    ];
  });
  return table([head, ...rows]);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')).join('\n');
}

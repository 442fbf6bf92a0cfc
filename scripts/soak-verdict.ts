/**
 * "Flat after warm-up", in numbers. The run is: load for the first third (warm-up), a quiet
 * period, load again, a quiet period at the end. For each service:
 *
 * - at rest: at the end of the last quiet period, after a full collection (asked through the
 *   inspector), the heap used, open descriptors and sockets are back to where they were at the
 *   end of the quiet period after warm-up, within LIMITS.restHeapMiB, LIMITS.restFds and
 *   LIMITS.restSockets. This catches what the load leaves behind (a descriptor or socket per
 *   request, an entry per upload in a map that never empties), in the 2-minute form too. Measured
 *   on a leak-free run: the live heap at rest moved by 0.2 to 1.4 MiB, descriptors and sockets by
 *   0 to 3 (keep-alive connections between the server and BSS, one scrape connection).
 * - under load: the least-squares slope of RSS over the samples of the load after the first
 *   quiet period stays under LIMITS.rssMiBPerMin (2 MiB/min: 2.8 GiB a day of steady load), which
 *   it must meet to be called flat. A slope over a short window is mostly noise, so it is judged
 *   only when that window spans LIMITS.slopeMinutes or more (the 10-minute run, not the 2-minute
 *   form). The heap's slope under load is printed but not judged: heap sampled under load is a
 *   saw-tooth of collections, and over 5.5 minutes its slope came out anywhere from -0.9 to
 *   4.3 MiB/min while the live heap at rest grew by under 2 MiB; the live heap at rest judges it.
 */
import type { Phase, ProcessSample, Sample } from './soak-samples.ts';

export const LIMITS = {
  rssMiBPerMin: 2,
  slopeMinutes: 3,
  restHeapMiB: 4,
  restFds: 6,
  restSockets: 4,
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

/** A series' value at rest: the last sample of the quiet period, taken after a full collection. */
function atRest(samples: readonly Sample[], phase: Phase, service: Service, series: Series): number {
  return samples.filter((s) => s.phase === phase).at(-1)?.[service][series] ?? Number.NaN;
}

/** Minutes the samples of the load after warm-up span. */
export function slopeWindowMinutes(samples: readonly Sample[]): number {
  const load = samples.filter((s) => s.phase === 'load');
  return load.length < 2 ? 0 : ((load.at(-1) as Sample).t - (load[0] as Sample).t) / 60;
}

export function seriesReports(samples: readonly Sample[]): SeriesReport[] {
  const load = samples.filter((s) => s.phase === 'load');
  const reports: SeriesReport[] = [];
  for (const service of ['server', 'bss'] as const) {
    for (const series of ['rssMiB', 'rssAnonMiB', 'rssFileMiB', 'heapMiB', 'externalMiB', 'fds', 'sockets'] as const) {
      reports.push({
        service,
        series,
        start: samples[0]?.[service][series] ?? Number.NaN,
        end: samples.at(-1)?.[service][series] ?? Number.NaN,
        slopePerMin: slopePerMinute(load.map((s) => [s.t, s[service][series]] as const)),
        quiet1: atRest(samples, 'quiet 1', service, series),
        quiet2: atRest(samples, 'quiet 2', service, series),
      });
    }
  }
  return reports;
}

/** The flatness checks of the verdict, one per service and rule. */
export function flatnessChecks(reports: readonly SeriesReport[], windowMinutes: number): Check[] {
  const checks: Check[] = [];
  const find = (service: Service, series: Series) =>
    reports.find((r) => r.service === service && r.series === series) as SeriesReport;
  const judged = windowMinutes >= LIMITS.slopeMinutes;
  const slope = (service: Service, what: string, r: SeriesReport, limit: number): Check => ({
    what: judged
      ? `${service} ${what} slope under load after warm-up ${fmt(r.slopePerMin, 2)} MiB/min < ${limit}`
      : `${service} ${what} slope ${fmt(r.slopePerMin, 2)} MiB/min not judged: ${fmt(windowMinutes, 1)} min of load after warm-up, < ${LIMITS.slopeMinutes}`,
    ok: !judged || r.slopePerMin < limit,
  });
  for (const service of ['server', 'bss'] as const) {
    const heap = find(service, 'heapMiB');
    const fds = find(service, 'fds');
    const sockets = find(service, 'sockets');
    checks.push(
      slope(service, 'RSS', find(service, 'rssMiB'), LIMITS.rssMiBPerMin),
      {
        what: `${service} heap at rest ${fmt(heap.quiet2, 1)} MiB <= ${fmt(heap.quiet1, 1)} + ${LIMITS.restHeapMiB}`,
        ok: heap.quiet2 <= heap.quiet1 + LIMITS.restHeapMiB,
      },
      {
        what: `${service} open fds at rest ${fds.quiet2} <= ${fds.quiet1} + ${LIMITS.restFds}`,
        ok: fds.quiet2 <= fds.quiet1 + LIMITS.restFds,
      },
      {
        what: `${service} open sockets at rest ${sockets.quiet2} <= ${sockets.quiet1} + ${LIMITS.restSockets}`,
        ok: sockets.quiet2 <= sockets.quiet1 + LIMITS.restSockets,
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

/** Per series: first and last sample, slope under load after warm-up, and the values at rest. */
export function seriesTable(reports: readonly SeriesReport[]): string {
  const mib = (s: Series) => s !== 'fds' && s !== 'sockets';
  const unit = (s: Series) => (mib(s) ? ' MiB' : '');
  const name = {
    rssMiB: 'RSS',
    rssAnonMiB: 'RSS anonymous',
    rssFileMiB: 'RSS mapped files',
    heapMiB: 'heap used',
    externalMiB: 'external (Buffers)',
    fds: 'open fds',
    sockets: 'sockets',
  } as const;
  const head = ['service', 'series', 'start', 'end', 'slope/min (load)', 'rest 1', 'rest 2'];
  const rows = reports.map((r) => {
    const d = mib(r.series) ? 1 : 0;
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

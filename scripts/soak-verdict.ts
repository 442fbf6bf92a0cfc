/**
 * "Flat after warm-up", in numbers. The run is: a warm-up load, a quiet period, then several
 * loads (cycles), each followed by a quiet period. At the end of each quiet period the soak asks
 * each service for a full collection (through the inspector) and takes the sample at rest. For
 * each service:
 *
 * - RSS: the least-squares slope of the RSS at rest after each load that follows the warm-up stays
 *   under LIMITS.rssMiBPerMin (2 MiB/min: 2.8 GiB a day of steady load), judged when there are
 *   LIMITS.rssCycles such loads or more (the 10-minute run has 4; the 2-minute form has 1 and is
 *   not judged). At rest, not under load: after a collection, RSS drops and then climbs back
 *   under load as the heap and the allocator's arenas refill, a climb that a slope over the
 *   samples under load takes for growth. A leak keeps adding at rest, load after load. The slope
 *   under load is printed, not judged (docs/operations.md has measured runs of both).
 * - heap used, open descriptors and sockets: the last value at rest is within LIMITS.restHeapMiB,
 *   LIMITS.restFds and LIMITS.restSockets of the first (after the warm-up), in the 2-minute form
 *   too. This catches what the load leaves behind (a descriptor or socket per request, an entry
 *   per upload in a map that never empties); the limits leave room for the few keep-alive
 *   connections between the server and BSS and the scrape's own, and a live heap that moves by
 *   a MiB or two between collections.
 */
import type { ProcessSample, Sample } from './soak-samples.ts';

export const LIMITS = {
  rssMiBPerMin: 2,
  rssCycles: 3,
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
  /** Least squares over the samples under load after the warm-up, per minute (printed, not judged). */
  loadSlopePerMin: number;
  /** The value at rest at the end of each quiet period: [after the warm-up, after load 1, …]. */
  rests: number[];
  /** Least squares over the values at rest after the loads that follow the warm-up, per minute. */
  restSlopePerMin: number;
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

/** The sample at rest of each cycle: the last of its quiet period, taken after a full collection. */
export function restSamples(samples: readonly Sample[]): Sample[] {
  const rests: Sample[] = [];
  for (const s of samples) if (s.phase === 'quiet') rests[s.cycle] = s;
  return rests.filter((s) => s !== undefined);
}

export function seriesReports(samples: readonly Sample[]): SeriesReport[] {
  const load = samples.filter((s) => s.phase === 'load');
  const rests = restSamples(samples);
  const reports: SeriesReport[] = [];
  for (const service of ['server', 'bss'] as const) {
    for (const series of ['rssMiB', 'rssAnonMiB', 'rssFileMiB', 'heapMiB', 'externalMiB', 'fds', 'sockets'] as const) {
      reports.push({
        service,
        series,
        start: samples[0]?.[service][series] ?? Number.NaN,
        end: samples.at(-1)?.[service][series] ?? Number.NaN,
        loadSlopePerMin: slopePerMinute(load.map((s) => [s.t, s[service][series]] as const)),
        rests: rests.map((s) => s[service][series]),
        restSlopePerMin: slopePerMinute(
          rests.filter((s) => s.cycle >= 1).map((s) => [s.t, s[service][series]] as const),
        ),
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
    const judged = rss.rests.length - 1 >= LIMITS.rssCycles;
    checks.push({
      what: judged
        ? `${service} RSS at rest after each load, slope ${fmt(rss.restSlopePerMin, 2)} MiB/min < ${LIMITS.rssMiBPerMin} (${rss.rests.map((r) => fmt(r)).join(', ')})`
        : `${service} RSS at rest not judged: ${rss.rests.length - 1} loads after warm-up, < ${LIMITS.rssCycles}`,
      ok: !judged || rss.restSlopePerMin < LIMITS.rssMiBPerMin,
    });
    for (const [series, what, limit, digits] of [
      ['heapMiB', 'heap at rest', LIMITS.restHeapMiB, 1],
      ['fds', 'open fds at rest', LIMITS.restFds, 0],
      ['sockets', 'open sockets at rest', LIMITS.restSockets, 0],
    ] as const) {
      const r = find(service, series);
      const [first, last] = [r.rests[0] ?? Number.NaN, r.rests.at(-1) ?? Number.NaN];
      checks.push({
        what: `${service} ${what} ${fmt(last, digits)} <= ${fmt(first, digits)} + ${limit}`,
        ok: last <= first + limit,
      });
    }
  }
  return checks;
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
    `${s.phase} ${s.cycle}`,
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

/** Per series: first and last sample, slopes, and the values at rest after each load. */
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
  const restCount = Math.max(0, ...reports.map((r) => r.rests.length));
  const head = [
    'service',
    'series',
    'start',
    'end',
    'slope/min (load)',
    'slope/min (rest)',
    ...Array.from({ length: restCount }, (_, i) => `rest ${i}`),
  ];
  const rows = reports.map((r) => {
    const d = mib(r.series) ? 1 : 0;
    return [
      r.service,
      name[r.series] + unit(r.series),
      fmt(r.start, d),
      fmt(r.end, d),
      fmt(r.loadSlopePerMin, 2),
      fmt(r.restSlopePerMin, 2),
      ...Array.from({ length: restCount }, (_, i) => fmt(r.rests[i] ?? Number.NaN, d)),
    ];
  });
  return table([head, ...rows]);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')).join('\n');
}

export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

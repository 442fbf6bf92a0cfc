import type { UploadEvents } from './upload/types.ts';

/** Sizes and rates in the units people read. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // Rates under 1 KiB/s are fractions of a byte: whole bytes are shown.
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `[#####     ]` for a fraction from 0 to 1. */
export function formatBar(fraction: number, width = 20): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${' '.repeat(width - filled)}]`;
}

export interface ProgressOptions {
  /** Where the bar and the result lines go (stdout). */
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Where notes go (stderr). */
  err: NodeJS.WritableStream;
  /** Draw the live display; only when `out` is a terminal and output is not JSON. */
  live: boolean;
  color: boolean;
  /**
   * Without the live display: write a plain progress line to `err` for a file at most this often
   * (milliseconds), so that long transfers show life in logs. Off when absent.
   */
  plainEveryMs?: number;
  now?: () => number;
}

interface FileState {
  name: string;
  size: number;
  phase: string;
  hashed: number;
  sent: number;
  resumed: number;
  /** When this file's transfer began (its hashing is not counted in its rate). */
  transferAt: number | undefined;
  /** When a plain progress line was last written for it. */
  reportedAt: number;
}

/**
 * The upload display: on a terminal, a line per file in flight and a total line (bytes, rate,
 * ETA), redrawn in place; otherwise nothing but the plain lines the command logs.
 */
export class Progress implements UploadEvents {
  readonly #options: ProgressOptions;
  readonly #now: () => number;
  readonly #files = new Map<string, FileState>();
  readonly #samples: Array<{ at: number; bytes: number }> = [];
  #totalBytes = 0;
  #totalFiles = 0;
  #finishedFiles = 0;
  #finishedBytes = 0;
  #sent = 0;
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;
  #runStartedAt = 0;
  #skipped = 0;

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get live(): boolean {
    return this.#options.live;
  }

  start(totalFiles: number, totalBytes: number): void {
    this.#totalFiles = totalFiles;
    this.#totalBytes = totalBytes;
    this.#runStartedAt = this.#now();
    if (this.#options.live) {
      this.#timer = setInterval(() => this.render(), 200);
      this.#timer.unref();
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clear();
  }

  begin(name: string, size: number): void {
    const now = this.#now();
    this.#files.set(name, {
      name,
      size,
      phase: 'waiting',
      hashed: 0,
      sent: 0,
      resumed: 0,
      transferAt: undefined,
      reportedAt: now,
    });
  }

  /** A file the space already held: counted in the summary as skipped. */
  skipped(): void {
    this.#skipped += 1;
  }

  /** A file is finished (uploaded, skipped or failed): it leaves the live display. */
  end(name: string): void {
    const file = this.#files.get(name);
    this.#files.delete(name);
    this.#finishedFiles += 1;
    this.#finishedBytes += file?.size ?? 0;
  }

  phase(name: string, phase: 'hashing' | 'uploading' | 'finishing'): void {
    const file = this.#files.get(name);
    if (!file) return;
    file.phase = phase;
    if (phase === 'uploading' && file.transferAt === undefined) file.transferAt = this.#now();
  }

  hashed(name: string, bytes: number): void {
    const file = this.#files.get(name);
    if (!file) return;
    file.hashed += bytes;
    this.#plainReport(file);
  }

  sent(name: string, bytes: number): void {
    const file = this.#files.get(name);
    if (file) file.sent += bytes;
    this.#sent += bytes;
    this.#sample();
    if (file) this.#plainReport(file);
  }

  /** A file's own transfer rate (bytes per second since its transfer began) and time left. */
  #fileRate(f: FileState, now: number): { rate: number; eta: number } {
    const seconds = f.transferAt === undefined ? 0 : (now - f.transferAt) / 1000;
    const rate = seconds > 0 ? f.sent / seconds : 0;
    const left = Math.max(0, f.size - f.sent - f.resumed);
    return { rate, eta: rate > 0 ? left / rate : Number.NaN };
  }

  /** Without the live display, a plain line now and then for a file that takes a while. */
  #plainReport(f: FileState): void {
    const every = this.#options.plainEveryMs;
    if (this.#options.live || every === undefined) return;
    const now = this.#now();
    if (now - f.reportedAt < every) return;
    f.reportedAt = now;
    if (f.phase === 'hashing') {
      const percent = f.size ? Math.floor((f.hashed / f.size) * 100) : 100;
      this.#options.err.write(`${f.name}  hashing ${percent}%  ${formatBytes(f.hashed)} / ${formatBytes(f.size)}\n`);
      return;
    }
    if (f.phase !== 'uploading') return;
    const done = Math.min(f.size, f.sent + f.resumed);
    const percent = f.size ? Math.floor((done / f.size) * 100) : 100;
    const { rate, eta } = this.#fileRate(f, now);
    this.#options.err.write(
      `${f.name}  ${percent}%  ${formatBytes(done)} / ${formatBytes(f.size)}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}\n`,
    );
  }

  /**
   * One line for the whole run: files, bytes this run sent, time taken and the average rate
   * (of the bytes sent over the whole run, hashing included).
   */
  summary(): string {
    const seconds = Math.max(0, (this.#now() - this.#runStartedAt) / 1000);
    const rate = seconds > 0 ? this.#sent / seconds : 0;
    const files = `${this.#finishedFiles} file${this.#finishedFiles === 1 ? '' : 's'}`;
    const skipped = this.#skipped > 0 ? ` (${this.#skipped} already stored)` : '';
    const took = seconds < 10 ? `${seconds.toFixed(1)}s` : formatDuration(seconds);
    return `done: ${files}${skipped}, ${formatBytes(this.#sent)} sent in ${took}, ${formatBytes(rate)}/s average`;
  }

  resumed(name: string, bytes: number): void {
    const file = this.#files.get(name);
    if (file) file.resumed += bytes;
  }

  /** Something the user should know (a fallback, a refresh): to stderr, keeping the display intact. */
  note(message: string): void {
    this.#clear();
    this.#options.err.write(`${message}\n`);
    this.render();
  }

  /** Resolves once the lines written to `out` have gone out (a slow reader holds the run back, not memory). */
  drained(): Promise<void> {
    const out = this.#options.out as NodeJS.WritableStream & { writableNeedDrain?: boolean; destroyed?: boolean };
    if (!out.writableNeedDrain || out.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        out.off('drain', done);
        out.off('close', done);
        resolve();
      };
      out.on('drain', done);
      // A stream that fails is closed: nothing to wait for then.
      out.on('close', done);
    });
  }

  /** A permanent line on stdout (a file's result). */
  log(line: string): void {
    this.#clear();
    this.#options.out.write(`${line}\n`);
    this.render();
  }

  #sample(): void {
    const at = this.#now();
    const last = this.#samples[this.#samples.length - 1];
    if (last && at - last.at < 100) {
      last.bytes = this.#sent;
      return;
    }
    this.#samples.push({ at, bytes: this.#sent });
    while (this.#samples.length > 2 && at - (this.#samples[0]?.at ?? at) > 5000) this.#samples.shift();
  }

  /** Bytes per second over the last few seconds. */
  rate(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last.at - first.at < 200) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }

  #paint(text: string, code: string): string {
    return this.#options.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  #bar(fraction: number): string {
    return formatBar(fraction);
  }

  /** The lines the live display shows now. */
  lines(): string[] {
    const out: string[] = [];
    const now = this.#now();
    const shown = [...this.#files.values()].filter((f) => f.phase !== 'waiting').slice(0, 4);
    for (const f of shown) {
      if (f.phase === 'hashing') {
        out.push(
          `${this.#bar(f.size ? f.hashed / f.size : 1)} ${f.name}  hashing ${formatBytes(f.hashed)} / ${formatBytes(f.size)}`,
        );
        continue;
      }
      const done = f.sent + f.resumed;
      const { rate, eta } = this.#fileRate(f, now);
      const label =
        f.phase === 'finishing'
          ? 'finishing'
          : `${formatBytes(done)} / ${formatBytes(f.size)}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}`;
      out.push(`${this.#bar(f.size ? done / f.size : 1)} ${f.name}  ${label}`);
    }
    const inFlight = [...this.#files.values()].reduce((sum, f) => sum + Math.min(f.size, f.sent + f.resumed), 0);
    const total = this.#finishedBytes + inFlight;
    const rate = this.rate();
    const eta = rate > 0 ? (this.#totalBytes - total) / rate : Number.NaN;
    out.push(
      `${this.#bar(this.#totalBytes ? total / this.#totalBytes : 1)} total  ${this.#finishedFiles}/${this.#totalFiles} files  ` +
        `${formatBytes(total)} / ${formatBytes(this.#totalBytes)}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}`,
    );
    return out;
  }

  render(): void {
    if (!this.#options.live) return;
    const columns = this.#options.out.columns || 100;
    // Cut to the terminal's width (a wrapped line would break the redraw), then colour the bar.
    const lines = this.lines()
      .map((l) => l.slice(0, Math.max(20, columns - 1)))
      .map((l) => (this.#options.color ? l.replace(/^\[(#*)/, (_m, bar: string) => `[${this.#paint(bar, '36')}`) : l));
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}F` : '';
    this.#options.out.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n\x1b[J`);
    this.#drawn = lines.length;
  }

  #clear(): void {
    if (!this.#options.live || this.#drawn === 0) return;
    this.#options.out.write(`\x1b[${this.#drawn}F\x1b[J`);
    this.#drawn = 0;
  }
}

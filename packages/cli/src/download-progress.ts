import { formatBar, formatBytes, formatDuration } from './progress.ts';

export interface DownloadProgressOptions {
  /** The terminal the line is drawn on. */
  out: NodeJS.WritableStream & { columns?: number };
  name: string;
  /** Bytes expected, when known. */
  total: number | undefined;
  now?: () => number;
  /** Redraw at most this often (milliseconds). */
  everyMs?: number;
}

/** One line redrawn in place while a download runs on a terminal: bytes, rate, ETA. */
export class DownloadProgress {
  readonly #options: DownloadProgressOptions;
  readonly #now: () => number;
  readonly #startedAt: number;
  #received = 0;
  #drawnAt = Number.NEGATIVE_INFINITY;
  #drawn = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: DownloadProgressOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
  }

  /** Keeps the line fresh (rate and ETA) even while no bytes arrive. */
  start(): void {
    this.render();
    this.#timer = setInterval(() => this.render(), 500);
    this.#timer.unref();
  }

  received(bytes: number): void {
    this.#received += bytes;
    if (this.#now() - this.#drawnAt >= (this.#options.everyMs ?? 200)) this.render();
  }

  line(): string {
    const { name, total } = this.#options;
    const seconds = (this.#now() - this.#startedAt) / 1000;
    const rate = seconds > 0 ? this.#received / seconds : 0;
    if (total === undefined) return `${name}  ${formatBytes(this.#received)}  ${formatBytes(rate)}/s`;
    const eta = rate > 0 ? Math.max(0, total - this.#received) / rate : Number.NaN;
    return (
      `${formatBar(total ? this.#received / total : 1)} ${name}  ${formatBytes(this.#received)} / ${formatBytes(total)}  ` +
      `${formatBytes(rate)}/s  ETA ${formatDuration(eta)}`
    );
  }

  render(): void {
    const columns = this.#options.out.columns || 100;
    this.#options.out.write(`\r\x1b[2K${this.line().slice(0, Math.max(20, columns - 1))}`);
    this.#drawn = true;
    this.#drawnAt = this.#now();
  }

  /** Clears the line, leaving the terminal as it was. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#drawn) this.#options.out.write('\r\x1b[2K');
    this.#drawn = false;
  }
}

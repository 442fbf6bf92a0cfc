/// <reference lib="dom" />
import type { FileStatus } from '../engine/plugin.ts';
import { bytes, cell, duration } from './dom.ts';

/** One file of the queue: what the page knows of it, and its row when it has one. */
interface Entry {
  name: string;
  size: number;
  status: FileStatus;
  /** Bytes of it sent or stored so far (for the page's rate). */
  moved: number;
  row?: Row;
}

interface Row {
  tr: HTMLTableRowElement;
  state: HTMLTableCellElement;
  progress: HTMLTableCellElement;
  action: HTMLTableCellElement;
  /** Where the rate is measured from (the first progress of this upload). */
  since?: { at: number; sent: number };
}

export interface QueueViewOptions {
  /** Up to this many files the queue shows a row for each; past it, the summary and only the rows worth a look. */
  rowsUpTo: number;
  /** Failed rows shown at most, in the summarised view. */
  failedRowsUpTo?: number;
  /** Rows of moving files shown at most, in the summarised view (the summary counts them all). */
  movingRowsUpTo?: number;
  retry(id: string): void;
  retryAll(): void;
}

/** States of a file that is moving: shown as rows even in the summarised view. */
const ACTIVE = new Set(['hashing', 'granting', 'uploading', 'retrying', 'paused']);
/** States that need the user: shown as rows (up to failedRowsUpTo) in the summarised view. */
const ATTENTION = new Set(['failed', 'duplicate']);
/** States of a file whose bytes are at BSS. */
const MOVED = new Set(['uploaded', 'committing', 'done', 'stored']);
/** The summary's groups, in order, with the states each counts. */
const GROUPS: Array<[string, string[]]> = [
  ['done', ['done', 'stored']],
  ['failed', ['failed']],
  ['duplicate names', ['duplicate']],
  ['cancelled', ['cancelled']],
  ['hashing', ['hashing']],
  ['sending', ['granting', 'uploading']],
  ['retrying', ['retrying']],
  ['paused', ['paused']],
  ['waiting for the commit', ['uploaded']],
  ['committing', ['committing']],
  ['queued', ['queued']],
];
/** Rows and the summary are drawn at most this often: a 10,000-file drop changes thousands of states a second. */
const DRAW_EVERY_MS = 100;

/**
 * The queue: a summary of the page's files (how many in each state, bytes, rate, ETA), and a
 * row per file with its state, progress and, once failed, a Retry button. Past `rowsUpTo` files
 * it keeps rows only for the files moving now and those that failed, so a 10,000-file folder
 * costs the page a few dozen rows, not 10,000.
 */
export class QueueView {
  readonly #body: HTMLTableSectionElement;
  readonly #summary: HTMLParagraphElement;
  readonly #retryAll: HTMLButtonElement;
  readonly #options: QueueViewOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #counts = new Map<string, number>();
  readonly #dirty = new Set<string>();
  #failedRows = 0;
  #movingRows = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #summarised = false;
  /** Bytes and files finished, and when the page started moving them (for the rate and ETA). */
  #since: number | undefined;
  #moved = 0;
  #totalBytes = 0;

  constructor(table: HTMLTableElement, options: QueueViewOptions) {
    this.#body = table.tBodies[0] ?? table.createTBody();
    this.#options = options;
    // The column of the Retry buttons.
    const header = document.createElement('th');
    const label = document.createElement('span');
    label.className = 'visually-hidden';
    label.textContent = 'Retry';
    header.append(label);
    table.tHead?.rows[0]?.append(header);
    const box = document.createElement('div');
    box.className = 'queue-summary';
    this.#summary = document.createElement('p');
    this.#summary.id = 'queue-summary';
    this.#retryAll = document.createElement('button');
    this.#retryAll.type = 'button';
    this.#retryAll.id = 'retry-all';
    this.#retryAll.hidden = true;
    this.#retryAll.addEventListener('click', () => options.retryAll());
    box.append(this.#summary, this.#retryAll);
    table.before(box);
  }

  update(id: string, name: string, status: FileStatus, size = 0): void {
    let entry = this.#entries.get(id);
    if (!entry) {
      entry = { name, size, status, moved: 0 };
      this.#entries.set(id, entry);
      this.#totalBytes += size;
      this.#count(status.state, 1);
    } else {
      this.#count(entry.status.state, -1);
      this.#count(status.state, 1);
      entry.status = status;
    }
    this.#track(entry, status);
    this.#dirty.add(id);
    this.#schedule();
  }

  /** A file taken out of the Dashboard: cancelled unless it had already finished. */
  removed(id: string, name: string): void {
    const state = this.#entries.get(id)?.status.state;
    if (state === 'done' || state === 'stored' || state === 'failed' || state === 'duplicate') return;
    this.update(id, name, { state: 'cancelled' });
    this.flush();
  }

  /** Draws what changed now (the tests and the page's end of a drop need it at once). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const summarise = this.#entries.size > this.#options.rowsUpTo;
    if (summarise && !this.#summarised) {
      // Past the limit: the rows of files that need no look go.
      for (const id of this.#entries.keys()) this.#dirty.add(id);
    }
    this.#summarised = summarise;
    for (const id of this.#dirty) {
      const entry = this.#entries.get(id);
      if (entry) this.#draw(id, entry);
    }
    this.#dirty.clear();
    this.#drawSummary();
  }

  #count(state: string, by: number): void {
    this.#counts.set(state, (this.#counts.get(state) ?? 0) + by);
  }

  /** The bytes this file has moved, for the page's rate. */
  #track(entry: Entry, status: FileStatus): void {
    let moved = entry.moved;
    if (status.state === 'uploading') moved = status.sent;
    else if (MOVED.has(status.state)) moved = entry.size;
    if (moved !== entry.moved) {
      this.#since ??= performance.now();
      this.#moved += moved - entry.moved;
      entry.moved = moved;
    }
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => this.flush(), DRAW_EVERY_MS);
  }

  #shows(state: string): boolean {
    if (!this.#summarised) return true;
    return ACTIVE.has(state) || ATTENTION.has(state);
  }

  #draw(id: string, entry: Entry): void {
    const { status } = entry;
    if (!this.#shows(status.state)) {
      if (entry.row) this.#drop(entry);
      return;
    }
    let row = entry.row;
    if (!row) {
      if (this.#summarised && ATTENTION.has(status.state) && this.#failedRows >= (this.#options.failedRowsUpTo ?? 200))
        return;
      // Hundreds of small files move at once, each for a moment: a row for each would be drawn and
      // taken out again thousands of times a second; a few of them show what is going on.
      if (this.#summarised && ACTIVE.has(status.state) && this.#movingRows >= (this.#options.movingRowsUpTo ?? 50))
        return;
      const tr = document.createElement('tr');
      tr.dataset.name = entry.name;
      const state = cell('');
      const progress = cell('');
      const action = cell('');
      tr.append(cell(entry.name), state, progress, action);
      this.#body.append(tr);
      row = { tr, state, progress, action };
      entry.row = row;
    }
    const wasAttention = ATTENTION.has(row.tr.dataset.state ?? '');
    if (wasAttention !== ATTENTION.has(status.state)) this.#failedRows += wasAttention ? -1 : 1;
    const wasMoving = ACTIVE.has(row.tr.dataset.state ?? '');
    if (wasMoving !== ACTIVE.has(status.state)) this.#movingRows += wasMoving ? -1 : 1;
    row.tr.dataset.state = status.state;
    row.state.className = `state ${status.state}`;
    row.state.textContent = stateText(status);
    row.progress.className = 'progress';
    row.progress.textContent = progressText(row, status);
    this.#drawAction(id, entry, row);
  }

  #drawAction(id: string, entry: Entry, row: Row): void {
    const failed = entry.status.state === 'failed';
    const button = row.action.querySelector('button');
    if (failed && !button) {
      const retry = document.createElement('button');
      retry.type = 'button';
      retry.className = 'retry';
      retry.textContent = 'Retry';
      retry.setAttribute('aria-label', `Retry ${entry.name}`);
      retry.addEventListener('click', () => this.#options.retry(id));
      row.action.append(retry);
    } else if (!failed && button) button.remove();
  }

  #drop(entry: Entry): void {
    if (!entry.row) return;
    if (ATTENTION.has(entry.row.tr.dataset.state ?? '')) this.#failedRows -= 1;
    if (ACTIVE.has(entry.row.tr.dataset.state ?? '')) this.#movingRows -= 1;
    entry.row.tr.remove();
    entry.row = undefined;
  }

  #drawSummary(): void {
    const total = this.#entries.size;
    if (total === 0) {
      this.#summary.textContent = 'No files yet: drop files or a folder above.';
      this.#retryAll.hidden = true;
      return;
    }
    const counts = GROUPS.map(([label, states]) => [label, states.reduce((n, s) => n + (this.#counts.get(s) ?? 0), 0)])
      .filter(([, n]) => (n as number) > 0)
      .map(([label, n]) => `${(n as number).toLocaleString('en')} ${label}`);
    const parts = [
      `${total.toLocaleString('en')} ${total === 1 ? 'file' : 'files'}, ${bytes(this.#totalBytes)}`,
      counts.join(', '),
    ];
    const busy = GROUPS.slice(4).some(([, states]) => states.some((s) => (this.#counts.get(s) ?? 0) > 0));
    if (this.#since !== undefined && busy) {
      const seconds = (performance.now() - this.#since) / 1000;
      if (seconds > 0.5) {
        const rate = this.#moved / seconds;
        const finished = (this.#counts.get('done') ?? 0) + (this.#counts.get('stored') ?? 0);
        const filesRate = finished / seconds;
        const left = this.#totalBytes - this.#moved;
        parts.push(`${bytes(rate)}/s`, `${filesRate.toFixed(0)} files/s`);
        if (rate > 0) parts.push(`ETA ${duration(left / rate)}`);
      }
    }
    this.#summary.textContent = parts.join(' · ');
    this.#summary.dataset.total = String(total);
    for (const [label, states] of GROUPS) {
      const key = label.replace(/ /g, '-');
      this.#summary.dataset[camel(key)] = String(states.reduce((n, s) => n + (this.#counts.get(s) ?? 0), 0));
    }
    const failed = this.#counts.get('failed') ?? 0;
    this.#retryAll.hidden = failed === 0;
    this.#retryAll.textContent = `Retry the ${failed.toLocaleString('en')} failed ${failed === 1 ? 'file' : 'files'}`;
  }
}

function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function progressText(row: Row, status: FileStatus): string {
  if (status.state === 'uploading') {
    const now = performance.now();
    if (!row.since) row.since = { at: now, sent: status.sent };
    const seconds = (now - row.since.at) / 1000;
    const rate = seconds > 0.2 ? (status.sent - row.since.sent) / seconds : 0;
    const eta = rate > 0 ? (status.total - status.sent) / rate : Number.NaN;
    const parts = [`${bytes(status.sent)} of ${bytes(status.total)}`];
    if (rate > 0) parts.push(`${bytes(rate)}/s`, `ETA ${duration(eta)}`);
    if (status.resumedParts) parts.push(`resumed: ${status.resumedParts} parts already at BSS`);
    return parts.join(' · ');
  }
  if (status.state !== 'retrying') row.since = undefined;
  switch (status.state) {
    case 'hashing':
      return `${bytes(status.done)} of ${bytes(status.total)} hashed`;
    case 'done':
    case 'stored': {
      const r = status.result;
      const sent = r.partsTotal > 0 ? ` · ${r.partsSent} of ${r.partsTotal} parts sent` : '';
      const version = status.version !== null ? ` · in version ${status.version}` : '';
      return `${bytes(r.size)}${sent}${version}`;
    }
    case 'uploaded':
      return `${bytes(status.result.size)} stored`;
    case 'committing':
      return status.added > 0 ? `${status.added} of ${status.total} names sent` : `${status.total} names`;
    default:
      return row.progress.textContent ?? '';
  }
}

function stateText(status: FileStatus): string {
  switch (status.state) {
    case 'hashing':
      return `hashing ${status.total === 0 ? 100 : Math.floor((100 * status.done) / status.total)}%`;
    case 'granting':
      return 'asking for a grant';
    case 'retrying':
      return `paused, retrying: ${status.reason}`;
    case 'stored':
      return 'already stored';
    case 'uploaded':
      return 'uploaded, waiting for the rest of the drop';
    case 'committing':
      return 'committing the snapshot';
    case 'failed':
      return `failed: ${status.reason}`;
    case 'duplicate':
      return 'not uploaded: a later file of this drop has the same name, and that one is kept';
    default:
      return status.state;
  }
}

/// <reference lib="dom" />
import type { FileStatus } from '../engine/plugin.ts';
import { bytes, cell, duration } from './dom.ts';

interface Row {
  tr: HTMLTableRowElement;
  state: HTMLTableCellElement;
  progress: HTMLTableCellElement;
  /** Where the rate is measured from (the first progress of this upload). */
  since?: { at: number; sent: number };
}

/** The queue: one row per file with its state, and bytes, rate and ETA while it uploads. */
export class QueueView {
  readonly #body: HTMLTableSectionElement;
  readonly #rows = new Map<string, Row>();

  constructor(table: HTMLTableElement) {
    this.#body = table.tBodies[0] ?? table.createTBody();
  }

  update(id: string, name: string, status: FileStatus): void {
    let row = this.#rows.get(id);
    if (!row) {
      const tr = document.createElement('tr');
      tr.dataset.name = name;
      const state = cell('');
      const progress = cell('');
      tr.append(cell(name), state, progress);
      this.#body.append(tr);
      row = { tr, state, progress };
      this.#rows.set(id, row);
    }
    row.tr.dataset.state = status.state;
    row.state.className = `state ${status.state}`;
    row.state.textContent = stateText(status);
    row.progress.className = 'progress';
    if (status.state === 'uploading') {
      const now = performance.now();
      if (!row.since) row.since = { at: now, sent: status.sent };
      const seconds = (now - row.since.at) / 1000;
      const rate = seconds > 0.2 ? (status.sent - row.since.sent) / seconds : 0;
      const eta = rate > 0 ? (status.total - status.sent) / rate : Number.NaN;
      const parts = [`${bytes(status.sent)} of ${bytes(status.total)}`];
      if (rate > 0) parts.push(`${bytes(rate)}/s`, `ETA ${duration(eta)}`);
      if (status.resumedParts) parts.push(`resumed: ${status.resumedParts} parts already at BSS`);
      row.progress.textContent = parts.join(' · ');
    } else if (status.state === 'hashing') {
      row.progress.textContent = `${bytes(status.done)} of ${bytes(status.total)} hashed`;
    } else if (status.state === 'done' || status.state === 'stored') {
      const r = status.result;
      const sent = r.partsTotal > 0 ? ` · ${r.partsSent} of ${r.partsTotal} parts sent` : '';
      const version = status.version !== null ? ` · in version ${status.version}` : '';
      row.progress.textContent = `${bytes(r.size)}${sent}${version}`;
      row.since = undefined;
    } else if (status.state === 'uploaded') {
      row.progress.textContent = `${bytes(status.result.size)} stored`;
      row.since = undefined;
    } else if (status.state === 'committing') {
      row.progress.textContent =
        status.added > 0 ? `${status.added} of ${status.total} names sent` : `${status.total} names`;
      row.since = undefined;
    } else if (status.state !== 'retrying') {
      row.since = undefined;
    }
  }

  /** A file taken out of the Dashboard: cancelled unless it had already finished. */
  removed(id: string, name: string): void {
    const state = this.#rows.get(id)?.tr.dataset.state;
    if (state === 'done' || state === 'stored' || state === 'failed') return;
    this.update(id, name, { state: 'cancelled' });
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
    default:
      return status.state;
  }
}

/// <reference lib="dom" />
import type { IndexedFile } from '../protocol/index.ts';
import { bytes, cell } from './dom.ts';

/** One file's row: name, size, type, hash, and a download button labelled with what it downloads. */
export function fileRow(
  file: IndexedFile,
  onDownload: (file: IndexedFile) => void,
  what = file.name,
): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.name = file.name;
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Download';
  button.className = 'download';
  button.setAttribute('aria-label', `Download ${what}`);
  button.addEventListener('click', () => onDownload(file));
  const actions = document.createElement('td');
  actions.append(button);
  tr.append(
    cell(file.name, 'name'),
    cell(bytes(file.size), 'size'),
    cell(`${file.type} (${file.contentType})`, 'type'),
    cell(file.hash, 'hash'),
    actions,
  );
  return tr;
}

/** A row of one cell across the table, saying why there are no rows. */
export function emptyRow(text: string, columns: number): HTMLTableRowElement {
  const tr = document.createElement('tr');
  const td = cell(text);
  td.colSpan = columns;
  tr.append(td);
  return tr;
}

const byName = new Intl.Collator();

/** Rows the file list draws at most: a space of 10,000 files would cost the page seconds of layout. */
export const FILE_ROWS = 1000;

/** The space's files: name, size, type, hash, and a download button each (the first FILE_ROWS by name). */
export function renderFiles(
  table: HTMLTableElement,
  files: IndexedFile[],
  onDownload: (file: IndexedFile) => void,
): void {
  const body = table.tBodies[0] ?? table.createTBody();
  const sorted = [...files].sort((a, b) => byName.compare(a.name, b.name));
  body.replaceChildren(...sorted.slice(0, FILE_ROWS).map((file) => fileRow(file, onDownload)));
  if (files.length === 0) body.append(emptyRow('No files yet.', 5));
  if (files.length > FILE_ROWS) {
    const more = files.length - FILE_ROWS;
    body.append(emptyRow(`… and ${more.toLocaleString('en')} more (${files.length.toLocaleString('en')} files).`, 5));
  }
}

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

/** The space's files: name, size, type, hash, and a download button each. */
export function renderFiles(
  table: HTMLTableElement,
  files: IndexedFile[],
  onDownload: (file: IndexedFile) => void,
): void {
  const body = table.tBodies[0] ?? table.createTBody();
  body.replaceChildren();
  for (const file of [...files].sort((a, b) => a.name.localeCompare(b.name))) body.append(fileRow(file, onDownload));
  if (files.length === 0) body.append(emptyRow('No files yet.', 5));
}

/// <reference lib="dom" />
import type { IndexedFile } from '../protocol/index.ts';
import { bytes, cell } from './dom.ts';

/** The space's files: name, size, type, hash, and a download button each. */
export function renderFiles(
  table: HTMLTableElement,
  files: IndexedFile[],
  onDownload: (file: IndexedFile) => void,
): void {
  const body = table.tBodies[0] ?? table.createTBody();
  body.replaceChildren();
  for (const file of [...files].sort((a, b) => a.name.localeCompare(b.name))) {
    const tr = document.createElement('tr');
    tr.dataset.name = file.name;
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Download';
    button.className = 'download';
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
    body.append(tr);
  }
  if (files.length === 0) {
    const tr = document.createElement('tr');
    const td = cell('No files yet.');
    td.colSpan = 5;
    tr.append(td);
    body.append(tr);
  }
}

/// <reference lib="dom" />
/**
 * The history of the chosen space: its snapshots newest first, a page at a time (version, author,
 * message, names added / changed / removed, files, date); picking one lists that version's files,
 * a page at a time, each downloadable as it was at that version. Every control is a button, so it
 * works from the keyboard; picking a version moves the focus to its files' heading.
 */
import type { IndexedFile, ServerApi, SnapshotView } from '../protocol/index.ts';
import { byId, bytes, cell, show } from './dom.ts';
import { emptyRow, fileRow } from './files-view.ts';

/** Snapshots in a page of the history. */
export const SNAPSHOTS_PER_PAGE = 20;
/** Files in a page of a version's listing. */
export const FILES_PER_PAGE = 500;

const SNAPSHOT_COLUMNS = 9;

export interface HistoryViewOptions {
  api: ServerApi;
  /** Downloads a file as it was at a version. */
  onDownload(file: IndexedFile, version: number): void;
  /** A request failed: `what` says what was being read. */
  onError(error: unknown, what: string): void;
}

interface Shown {
  namespace: string;
  space: string;
}

function isNotFound(error: unknown): boolean {
  return (error as { status?: unknown })?.status === 404;
}

function counts(n: number, className: string): HTMLTableCellElement {
  return cell(n.toLocaleString('en'), `count ${className}`);
}

export class HistoryView {
  readonly #options: HistoryViewOptions;
  readonly #title = byId<HTMLSpanElement>('history-space');
  readonly #table = byId<HTMLTableElement>('snapshots');
  readonly #newer = byId<HTMLButtonElement>('history-newer');
  readonly #older = byId<HTMLButtonElement>('history-older');
  readonly #range = byId<HTMLParagraphElement>('history-range');
  readonly #version = byId<HTMLDivElement>('version-view');
  readonly #versionTitle = byId<HTMLHeadingElement>('version-title');
  readonly #versionFiles = byId<HTMLTableElement>('version-files');
  readonly #versionCount = byId<HTMLParagraphElement>('version-count');
  readonly #more = byId<HTMLButtonElement>('version-more');
  #shown: Shown | undefined;
  /** The cursor of each page shown so far (undefined: the first, newest page); the last is the current page. */
  #cursors: Array<string | undefined> = [undefined];
  #next: string | undefined;
  /** The version whose files are listed, and the cursor of their next page. */
  #picked: { version: number; snapshot: SnapshotView; next: string | undefined; listed: number } | undefined;
  /** Answers to requests older than the latest are dropped. */
  #generation = 0;

  constructor(options: HistoryViewOptions) {
    this.#options = options;
    this.#newer.addEventListener('click', () => void this.#page(-1));
    this.#older.addEventListener('click', () => void this.#page(1));
    this.#more.addEventListener('click', () => void this.#moreFiles());
  }

  /** Shows the history of a space from its newest snapshot (again, when it is the one shown: a commit may have landed). */
  async show(namespace: string, space: string): Promise<void> {
    const same = this.#shown?.namespace === namespace && this.#shown.space === space;
    this.#shown = { namespace, space };
    this.#title.textContent = `${namespace}/${space}`;
    this.#cursors = [undefined];
    if (!same) this.#unpick();
    await this.#load();
  }

  /** Shows a space that does not exist yet: no versions, nothing asked of the server. */
  showMissing(namespace: string, space: string): void {
    this.#shown = { namespace, space };
    this.#title.textContent = `${namespace}/${space}`;
    this.#cursors = [undefined];
    this.#next = undefined;
    this.#generation += 1;
    this.#unpick();
    this.#table.removeAttribute('aria-busy');
    this.#render([]);
  }

  async #page(step: 1 | -1): Promise<void> {
    if (step === 1) {
      if (this.#next === undefined) return;
      this.#cursors.push(this.#next);
    } else {
      if (this.#cursors.length <= 1) return;
      this.#cursors.pop();
    }
    const pressed = step === 1 ? this.#older : this.#newer;
    await this.#load();
    // A button that has just become disabled drops the focus: give it to the other one.
    if (pressed.disabled) (step === 1 ? this.#newer : this.#older).focus();
  }

  async #load(): Promise<void> {
    const shown = this.#shown;
    if (!shown) return;
    const generation = ++this.#generation;
    const cursor = this.#cursors[this.#cursors.length - 1];
    this.#table.setAttribute('aria-busy', 'true');
    try {
      let snapshots: SnapshotView[] = [];
      let next: string | undefined;
      try {
        const page = await this.#options.api.snapshots(shown.namespace, shown.space, {
          limit: SNAPSHOTS_PER_PAGE,
          ...(cursor !== undefined ? { cursor } : {}),
        });
        snapshots = page.snapshots;
        next = page.next;
      } catch (error) {
        if (!isNotFound(error)) throw error; // no such space yet: no history
      }
      if (generation !== this.#generation) return;
      this.#next = next;
      this.#render(snapshots);
    } catch (error) {
      if (generation === this.#generation)
        this.#options.onError(error, `the history of ${shown.namespace}/${shown.space}`);
    } finally {
      if (generation === this.#generation) this.#table.removeAttribute('aria-busy');
    }
  }

  #render(snapshots: SnapshotView[]): void {
    const body = this.#table.tBodies[0] ?? this.#table.createTBody();
    body.replaceChildren(...snapshots.map((s) => this.#row(s)));
    if (snapshots.length === 0) body.append(emptyRow('No versions yet.', SNAPSHOT_COLUMNS));
    this.#newer.disabled = this.#cursors.length <= 1;
    this.#older.disabled = this.#next === undefined;
    const first = snapshots[0];
    const last = snapshots[snapshots.length - 1];
    this.#range.textContent =
      first && last
        ? first === last
          ? `Version ${first.version}.`
          : `Versions ${first.version} down to ${last.version}.`
        : '';
  }

  #row(snapshot: SnapshotView): HTMLTableRowElement {
    const tr = document.createElement('tr');
    tr.dataset.version = String(snapshot.version);
    const version = document.createElement('th');
    version.scope = 'row';
    version.className = 'version';
    version.textContent = String(snapshot.version);
    const message = cell(snapshot.message, 'message');
    if (snapshot.message === '') {
      message.textContent = 'no message';
      message.classList.add('none');
    }
    const date = document.createElement('td');
    const time = document.createElement('time');
    time.dateTime = snapshot.createdAt;
    time.textContent = new Date(snapshot.createdAt).toLocaleString();
    date.append(time);
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'pick-version';
    button.textContent = 'Show files';
    button.setAttribute('aria-label', `Show files of version ${snapshot.version}`);
    button.setAttribute('aria-pressed', String(this.#picked?.version === snapshot.version));
    button.addEventListener('click', () => void this.pick(snapshot));
    const actions = document.createElement('td');
    actions.append(button);
    tr.append(
      version,
      cell(snapshot.author, 'author'),
      message,
      counts(snapshot.counts.added, 'added'),
      counts(snapshot.counts.changed, 'changed'),
      counts(snapshot.counts.removed, 'removed'),
      cell(`${snapshot.files.toLocaleString('en')} (${bytes(snapshot.bytes)})`, 'files'),
      date,
      actions,
    );
    return tr;
  }

  #unpick(): void {
    this.#picked = undefined;
    show(this.#version, false);
    this.#versionFiles.tBodies[0]?.replaceChildren();
  }

  /** Lists the files of a version (its first page), and moves the focus to their heading. */
  async pick(snapshot: SnapshotView): Promise<void> {
    const shown = this.#shown;
    if (!shown) return;
    this.#picked = { version: snapshot.version, snapshot, next: undefined, listed: 0 };
    for (const button of this.#table.querySelectorAll<HTMLButtonElement>('button.pick-version')) {
      const row = button.closest('tr');
      button.setAttribute('aria-pressed', String(row?.dataset.version === String(snapshot.version)));
    }
    this.#versionTitle.textContent = `Files of ${shown.namespace}/${shown.space} at version ${snapshot.version}`;
    this.#versionFiles.tBodies[0]?.replaceChildren();
    this.#versionCount.textContent = '';
    show(this.#more, false);
    show(this.#version, true);
    this.#versionTitle.focus();
    await this.#moreFiles();
  }

  async #moreFiles(): Promise<void> {
    const shown = this.#shown;
    const picked = this.#picked;
    if (!shown || !picked) return;
    const body = this.#versionFiles.tBodies[0] ?? this.#versionFiles.createTBody();
    this.#versionFiles.setAttribute('aria-busy', 'true');
    try {
      const page = await this.#options.api.listFilesPage(shown.namespace, shown.space, {
        version: picked.version,
        limit: FILES_PER_PAGE,
        ...(picked.next !== undefined ? { cursor: picked.next } : {}),
      });
      if (this.#picked !== picked) return;
      const firstNew = picked.listed;
      const download = (file: IndexedFile): void => this.#options.onDownload(file, picked.version);
      for (const file of page.files) {
        body.append(fileRow(file, download, `${file.name} at version ${picked.version}`));
      }
      picked.listed += page.files.length;
      picked.next = page.next;
      if (picked.listed === 0) body.append(emptyRow('No files at this version.', 5));
      const total = picked.snapshot.files;
      this.#versionCount.textContent = `${picked.listed.toLocaleString('en')} of ${total.toLocaleString('en')} files listed.`;
      show(this.#more, picked.next !== undefined);
      // After "More files", the focus goes to the first file of the new page instead of staying on a hidden button.
      if (firstNew > 0) body.rows[firstNew]?.querySelector('button')?.focus();
    } catch (error) {
      if (this.#picked === picked) this.#options.onError(error, `the files of version ${picked.version}`);
    } finally {
      if (this.#picked === picked) this.#versionFiles.removeAttribute('aria-busy');
    }
  }
}

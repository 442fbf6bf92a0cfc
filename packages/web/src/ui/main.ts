/// <reference lib="dom" />
/**
 * The page: log in (or sign up), choose a namespace and space, drop files and folders into Uppy's
 * Dashboard (each drop lands as one snapshot, with an optional message), follow each file in the
 * queue, list and download the space's files, and browse its history: any version's files, each
 * downloadable as it was then.
 */
import Uppy, { type Body, type Meta } from '@uppy/core';
import Dashboard from '@uppy/dashboard';
import { Hasher } from '../engine/hash.ts';
import { DreamLakeUpload, IDLE_MS, spaceName } from '../engine/plugin.ts';
import { ResumeStore } from '../engine/resume-store.ts';
import { type CommitAnswer, type IndexedFile, ProtocolError, ServerApi, transport } from '../protocol/index.ts';
import { byId, show } from './dom.ts';
import { renderFiles } from './files-view.ts';
import { HistoryView } from './history-view.ts';
import { QueueView } from './queue-view.ts';
import { Session } from './session.ts';

interface PageConfig {
  allowSignup: boolean;
}

/**
 * The page's limits, each overridable from localStorage (tests make the watchdog quick):
 * `dreamlake.idleSeconds` (a file with no sign of life this long fails, retryably) and
 * `dreamlake.queueRows` (past this many files, the queue shows its summary and only the rows
 * that move or failed, and the Dashboard hides its own list).
 */
function setting(key: string, fallback: number): number {
  const value = Number(localStorage.getItem(`dreamlake.${key}`) ?? Number.NaN);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
const IDLE_SECONDS = setting('idleSeconds', IDLE_MS / 1000);
const QUEUE_ROWS = setting('queueRows', 500);

const session = new Session();
const api = new ServerApi(location.origin, transport(), { token: () => session.token });
let uppy: Uppy<Meta, Body> | undefined;
const queue = new QueueView(byId<HTMLTableElement>('queue'), {
  rowsUpTo: QUEUE_ROWS,
  retry: (id) => void uppy?.retryUpload(id),
  retryAll: () => void uppy?.retryAll(),
});
const namespaceSelect = byId<HTMLSelectElement>('namespace');
const spaceInput = byId<HTMLInputElement>('space');
const notice = byId<HTMLParagraphElement>('notice');
const commitMessage = byId<HTMLInputElement>('commit-message');
const commitStatus = byId<HTMLParagraphElement>('commit-status');
const history = new HistoryView({
  api,
  onDownload: (file, version) => void download(file, version),
  onError: (error, what) => {
    if (error instanceof ProtocolError && error.status === 401) showLogin('Your session has ended: log in again.');
    else say(`Could not read ${what}: ${describe(error)}`);
  },
});

function say(message: string | undefined): void {
  notice.textContent = message ?? '';
  show(notice, Boolean(message));
}

function describe(error: unknown): string {
  if (error instanceof ProtocolError) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

function target(): { namespace: string; space: string } {
  return { namespace: namespaceSelect.value, space: spaceInput.value.trim() };
}

function showLogin(message?: string): void {
  show(byId('login'), true);
  show(byId('app'), false);
  show(byId('who'), false);
  show(byId('logout'), false);
  say(message);
  byId<HTMLInputElement>('username').focus();
}

async function showApp(): Promise<void> {
  const me = await api.me();
  byId('who').textContent = me.username;
  const current = namespaceSelect.value;
  namespaceSelect.replaceChildren(
    ...me.namespaces.map((ns) => {
      const option = document.createElement('option');
      option.value = ns.name;
      option.textContent = `${ns.name} (${ns.role})`;
      return option;
    }),
  );
  namespaceSelect.value = me.namespaces.some((n) => n.name === current) ? current : me.username;
  show(byId('login'), false);
  show(byId('app'), true);
  show(byId('who'), true);
  show(byId('logout'), true);
  say(undefined);
  await loadSpaces();
  if (target().space) await refreshFiles();
}

async function loadSpaces(): Promise<void> {
  const { spaces } = await api.spaces(namespaceSelect.value).catch(() => ({ spaces: [] }));
  byId('spaces').replaceChildren(
    ...spaces.map((s) => {
      const option = document.createElement('option');
      option.value = s.name;
      return option;
    }),
  );
}

async function refreshFiles(): Promise<void> {
  const { namespace, space } = target();
  byId('space-title').textContent = `${namespace}/${space}`;
  try {
    const { files } = await api.listFiles(namespace, space);
    renderFiles(byId<HTMLTableElement>('files'), files, download);
    void history.show(namespace, space);
  } catch (error) {
    if (error instanceof ProtocolError && error.status === 404) {
      renderFiles(byId<HTMLTableElement>('files'), [], download);
      history.showMissing(namespace, space);
    } else if (error instanceof ProtocolError && error.status === 401) {
      showLogin('Your session has ended: log in again.');
    } else say(`Could not list ${namespace}/${space}: ${describe(error)}`);
  }
}

/** Downloads a file as it is now, or as it was at `version`. */
async function download(file: IndexedFile, version?: number): Promise<void> {
  try {
    const grant = await api.downloadGrant(
      file.namespace,
      file.space,
      file.name,
      version !== undefined ? { version } : {},
    );
    const link = document.createElement('a');
    link.href = grant.url;
    link.download = file.name.slice(file.name.lastIndexOf('/') + 1);
    link.rel = 'noopener';
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    const at = version !== undefined ? ` at version ${version}` : '';
    say(`Could not download ${file.name}${at}: ${describe(error)}`);
  }
}

let reauth: Promise<void> | undefined;
/** After a 401: back to the login form; the queue waits and goes on once the user is back. */
function reauthenticate(): Promise<void> {
  if (!reauth) {
    session.clear();
    showLogin('Your session has ended: log in again and the queue continues.');
    reauth = session.next().finally(() => {
      reauth = undefined;
    });
  }
  return reauth;
}

let refreshTimer: ReturnType<typeof setTimeout> | undefined;
/** What a drop's commit made, said where the user looks after an upload. */
function committed(where: { namespace: string; space: string }, answer: CommitAnswer, names: number): void {
  const s = answer.snapshot;
  const space = `${where.namespace}/${where.space}`;
  const files = `${names.toLocaleString('en')} ${names === 1 ? 'file' : 'files'}`;
  commitStatus.classList.remove('failed');
  commitStatus.dataset.version = s ? String(s.version) : '';
  if (answer.created && s) {
    const { added, changed, removed } = s.counts;
    commitStatus.textContent = `Version ${s.version} of ${space} made from ${files}: ${added} added, ${changed} changed, ${removed} removed.`;
    commitMessage.value = '';
  } else {
    const head = s ? ` (it stays at version ${s.version})` : '';
    commitStatus.textContent = `Nothing changed in ${space}: its ${files} were there already${head}.`;
  }
  const shown = target();
  if (shown.namespace === where.namespace && shown.space === where.space) refreshSoon();
}

function commitFailed(where: { namespace: string; space: string }, reason: string): void {
  commitStatus.classList.add('failed');
  commitStatus.dataset.version = '';
  commitStatus.textContent = `No version was made in ${where.namespace}/${where.space}: ${reason}. Retry the files to commit them.`;
}

function refreshSoon(): void {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void refreshFiles(), 300);
}

/** Starts the files waiting in the Dashboard once a space is chosen (a drop before it waits). */
function startWaiting(): void {
  if (!uppy || !spaceInput.checkValidity() || target().space === '') return;
  const waiting = uppy.getFiles().some((f) => !f.progress.uploadStarted && !f.error);
  if (!waiting) return;
  say(undefined);
  void uppy.upload();
}

function startUppy(): Uppy<Meta, Body> {
  const uppy = new Uppy<Meta, Body>({ autoProceed: false, allowMultipleUploadBatches: true });
  uppy.use(Dashboard, {
    inline: true,
    target: '#drop',
    height: 300,
    width: '100%',
    fileManagerSelectionType: 'both',
    proudlyDisplayPoweredByUppy: false,
    hideUploadButton: true,
    note: 'Drop files or whole folders: a folder keeps its relative paths as file names, and each drop becomes one version of the space.',
  });
  const hasher = new Hasher(new URL('/assets/hash-worker.js', location.origin));
  hasher.warm();
  uppy.use(DreamLakeUpload, {
    api,
    hasher,
    resume: new ResumeStore(localStorage),
    target,
    reauthenticate,
    idleMs: IDLE_SECONDS * 1000,
    onStatus: (file, name, status) => queue.update(file.id, name, status, file.size ?? 0),
    message: () => commitMessage.value.trim(),
    onCommitted: committed,
    onCommitFailed: commitFailed,
  });
  uppy.on('files-added', (files) => {
    performance.mark('dreamlake:drop-accepted', { detail: files.length });
    // Many files: the Dashboard's own list goes (it cannot keep up), the queue's summary stays.
    byId('drop').classList.toggle('many', uppy.getFiles().length > QUEUE_ROWS);
    for (const file of files) queue.update(file.id, spaceName(file), { state: 'queued' }, file.size ?? 0);
    const { space } = target();
    if (!spaceInput.checkValidity() || space === '') {
      say('Choose a space first (a lowercase name such as first-space); the files wait in the Dashboard.');
      return;
    }
    say(undefined);
    void uppy.upload();
  });
  uppy.on('file-removed', (file) => queue.removed(file.id, spaceName(file)));
  return uppy;
}

/** The Dashboard's file list scrolls: it takes the focus, so the keyboard can scroll it too. */
function focusableFileList(): void {
  const drop = byId('drop');
  const fix = (): void => {
    const list = drop.querySelector<HTMLElement>('.uppy-Dashboard-files');
    if (!list || list.hasAttribute('tabindex')) return;
    list.tabIndex = 0;
    list.setAttribute('aria-label', 'Files of the drop');
  };
  new MutationObserver(fix).observe(drop, { childList: true, subtree: true });
}

/** A folder with no file in it: said, as nothing else would show for it. */
function watchEmptyFolders(): void {
  byId('drop').addEventListener(
    'change',
    (event) => {
      const input = event.target as HTMLInputElement;
      if (input.type === 'file' && input.files && input.files.length === 0) {
        say('That folder holds no files: nothing to upload.');
      }
    },
    true,
  );
  byId('drop').addEventListener(
    'drop',
    (event) => {
      const items = [...(event.dataTransfer?.items ?? [])];
      if (items.length === 0) return;
      const entries = items.map((i) => i.webkitGetAsEntry?.()).filter((e) => e !== null && e !== undefined);
      if (entries.length !== items.length || !entries.every((e) => e.isDirectory)) return;
      void Promise.all(entries.map((e) => holdsFiles(e as FileSystemDirectoryEntry))).then((held) => {
        if (!held.some(Boolean)) say('That folder holds no files: nothing to upload.');
      });
    },
    true,
  );
}

/** Whether a dropped folder (or a folder in it) holds at least one file. */
async function holdsFiles(dir: FileSystemDirectoryEntry): Promise<boolean> {
  const reader = dir.createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return false;
    if (batch.some((e) => e.isFile)) return true;
    for (const e of batch) if (await holdsFiles(e as FileSystemDirectoryEntry)) return true;
  }
}

async function logIn(signup: boolean): Promise<void> {
  const username = byId<HTMLInputElement>('username').value.trim();
  const password = byId<HTMLInputElement>('password').value;
  const error = byId('login-error');
  error.textContent = '';
  try {
    const answer = signup ? await api.signup(username, password) : await api.login(username, password);
    session.set(answer.token);
    byId<HTMLInputElement>('password').value = '';
    await showApp();
  } catch (e) {
    error.textContent = describe(e);
  }
}

async function main(): Promise<void> {
  const config = (await fetch('/web/config.json').then((r) => r.json())) as PageConfig;
  show(byId('signup-button'), config.allowSignup);
  byId('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void logIn(false);
  });
  byId('signup-button').addEventListener('click', () => void logIn(true));
  byId('logout').addEventListener('click', () => {
    session.clear();
    showLogin();
  });
  byId('target-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void refreshFiles();
    startWaiting();
  });
  namespaceSelect.addEventListener('change', () => void loadSpaces());
  window.addEventListener('offline', () => say('The network is gone: uploads are paused and retry when it is back.'));
  window.addEventListener('online', () => say(undefined));
  uppy = startUppy();
  watchEmptyFolders();
  focusableFileList();
  queue.flush();
  if (!session.token) return showLogin();
  try {
    await showApp();
  } catch (error) {
    if (error instanceof ProtocolError && error.status === 401) {
      session.clear();
      return showLogin('Your session has ended: log in again.');
    }
    showLogin(describe(error));
  }
}

void main();

import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Which space an upload writes to, on which server. */
export interface PendingScope {
  server: string;
  namespace: string;
  space: string;
}

/** Lines gathered at most this long before they are appended (a crash loses at most these). */
const WRITE_EVERY_MS = 500;

/** The journal file of one (server, namespace, space). */
export function pendingPath(home: string, scope: PendingScope): string {
  const id = createHash('sha256')
    .update(JSON.stringify([scope.server, scope.namespace, scope.space]))
    .digest('hex')
    .slice(0, 32);
  return join(home, 'commits', `${id}.jsonl`);
}

/**
 * What uploads into one space have stored in BSS but not committed yet: the hashes BSS confirmed,
 * and the drafts opened for them. An upload commits its files once all are stored, in one
 * snapshot; a run stopped before that (a crash, a failed file) leaves this behind, and the next
 * run into the space sends none of these blobs again (the server proves them with BSS when they
 * are committed) and drops the drafts left open once it has committed. One JSON line per fact,
 * appended (0600): `{"hash":"…"}` or `{"draft":"…"}`; gone once a run has committed.
 */
export class PendingBlobs {
  readonly path: string;
  #hashes = new Set<string>();
  #drafts = new Set<string>();
  #lines: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #writes: Promise<void> = Promise.resolve();

  constructor(home: string, scope: PendingScope) {
    this.path = pendingPath(home, scope);
  }

  /** Reads what earlier runs left (nothing when there is no journal, or from lines it cannot read). */
  async load(): Promise<void> {
    const text = await readFile(this.path, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const fact = JSON.parse(line) as { hash?: unknown; draft?: unknown };
        if (typeof fact.hash === 'string' && /^[0-9a-f]{64}$/.test(fact.hash)) this.#hashes.add(fact.hash);
        if (typeof fact.draft === 'string') this.#drafts.add(fact.draft);
      } catch {
        // A line cut short by a crash: the blob it named is sent again.
      }
    }
  }

  /** True when an earlier run (or this one) recorded BSS holding this blob for the space. */
  stored(hash: string): boolean {
    return this.#hashes.has(hash);
  }

  /** Drafts an earlier run opened and left (not the ones this run opens). */
  get drafts(): string[] {
    return [...this.#drafts];
  }

  /** Notes that BSS holds this blob (appended within WRITE_EVERY_MS). */
  recordBlob(hash: string): void {
    if (this.#hashes.has(hash)) return;
    this.#hashes.add(hash);
    this.#append(JSON.stringify({ hash }));
  }

  /** Notes a draft opened by this run, written at once (it holds the run's blobs until it is committed or expires). */
  async recordDraft(id: string): Promise<void> {
    this.#append(JSON.stringify({ draft: id }));
    await this.flush();
  }

  #append(line: string): void {
    this.#lines.push(line);
    this.#timer ??= setTimeout(() => void this.flush().catch(() => undefined), WRITE_EVERY_MS);
  }

  /** Appends what is gathered now. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#lines.length === 0) return this.#writes;
    const lines = this.#lines;
    this.#lines = [];
    const write = async (): Promise<void> => {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await appendFile(this.path, `${lines.join('\n')}\n`, { mode: 0o600 });
    };
    this.#writes = this.#writes.then(write, write);
    return this.#writes;
  }

  /** Forgets everything: the space's snapshot now holds the run's files. */
  async remove(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#lines = [];
    await this.#writes.catch(() => undefined);
    await rm(this.path, { force: true });
    this.#hashes.clear();
    this.#drafts.clear();
  }
}

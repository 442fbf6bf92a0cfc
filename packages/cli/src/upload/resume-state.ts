import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PartCheck } from '@dreamlake/protocol';
import { readJsonFile, writePrivateFile } from '../config.ts';

/** Which upload a file is in the middle of, and which parts BSS has confirmed. */
export interface ResumeState {
  server: string;
  namespace: string;
  space: string;
  hash: string;
  type: string;
  partSize: number;
  partsTotal: number;
  uploadId: string;
  key: string;
  /** ETag of every part known to be stored, by part number. */
  done: Record<string, string>;
  /** The per-part check BSS asked for when the upload was opened (absent: `md5`). */
  partCheck?: PartCheck;
  updatedAt: string;
}

export interface ResumeScope {
  server: string;
  namespace: string;
  space: string;
  hash: string;
}

export function resumeDir(home: string): string {
  return join(home, 'uploads');
}

/** The state file for one (server, namespace, space, hash). */
export function resumePath(home: string, scope: ResumeScope): string {
  const id = createHash('sha256')
    .update(JSON.stringify([scope.server, scope.namespace, scope.space, scope.hash]))
    .digest('hex')
    .slice(0, 32);
  return join(resumeDir(home), `${id}.json`);
}

/**
 * The resume state of one upload, saved (0600) after every change so that a crash loses at most
 * the parts in flight. Writes are serialised and coalesced: while one is on disk, further saves
 * share the next write, which takes the state as it is then (a 10,000-part upload does not write
 * its state 10,000 times over).
 */
export class ResumeStore {
  readonly path: string;
  #writes: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #latest: ResumeState | undefined;

  constructor(home: string, scope: ResumeScope) {
    this.path = resumePath(home, scope);
  }

  async load(): Promise<ResumeState | null> {
    const state = await readJsonFile<ResumeState>(this.path);
    if (!state || typeof state.uploadId !== 'string' || typeof state.key !== 'string' || typeof state.done !== 'object')
      return null;
    return state;
  }

  save(state: ResumeState): Promise<void> {
    this.#latest = state;
    if (this.#queued) return this.#queued;
    const write = (): Promise<void> => {
      this.#queued = undefined;
      return writePrivateFile(this.path, JSON.stringify({ ...this.#latest, updatedAt: new Date().toISOString() }));
    };
    this.#writes = this.#writes.then(write, write);
    this.#queued = this.#writes;
    return this.#writes;
  }

  async remove(): Promise<void> {
    await this.#writes.catch(() => undefined);
    await rm(this.path, { force: true });
  }
}

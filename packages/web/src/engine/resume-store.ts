/// <reference lib="dom" />
import type { OpenUpload } from '../protocol/index.ts';

/** An open multipart upload, remembered so a reload (or a closed laptop) continues it. */
export interface SavedUpload extends OpenUpload {
  partSize: number;
  size: number;
  savedAt: number;
}

const PREFIX = 'dreamlake.upload.';
/** BSS sweeps stale uploads; past this age asking for one is pointless. */
const MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/**
 * Kept in localStorage: only upload ids and keys, which are worthless without the signed URLs a
 * grant gives (no token, no URL is stored). Keyed by namespace, space and hash.
 */
export class ResumeStore {
  readonly #storage: Storage;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  #key(namespace: string, space: string, hash: string): string {
    return `${PREFIX}${namespace}/${space}/${hash}`;
  }

  get(namespace: string, space: string, hash: string): SavedUpload | undefined {
    try {
      const text = this.#storage.getItem(this.#key(namespace, space, hash));
      if (!text) return undefined;
      const saved = JSON.parse(text) as SavedUpload;
      if (typeof saved.uploadId !== 'string' || typeof saved.key !== 'string') return undefined;
      if (Date.now() - saved.savedAt > MAX_AGE_MS) return undefined;
      return saved;
    } catch {
      return undefined;
    }
  }

  set(namespace: string, space: string, hash: string, upload: Omit<SavedUpload, 'savedAt'>): void {
    try {
      this.#storage.setItem(this.#key(namespace, space, hash), JSON.stringify({ ...upload, savedAt: Date.now() }));
    } catch {
      // A full or disabled storage only costs the resume.
    }
  }

  delete(namespace: string, space: string, hash: string): void {
    this.#storage.removeItem(this.#key(namespace, space, hash));
  }
}

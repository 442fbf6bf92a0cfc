import type { DownloadGrant, ServerApi } from '../api.ts';
import { ApiError } from '../errors.ts';

/** Entries in one `POST /downloads/batch`. */
export const GRANT_BATCH_MAX = 1000;

export type GrantAnswer = DownloadGrant | { error: { code: string; message: string } };

/**
 * Signed download URLs for files of a space: `POST /downloads/batch` for up to 1000 names at once,
 * or one `GET …/files/download` per name against a server without it.
 */
export class Grants {
  readonly #api: ServerApi;
  readonly #where: { namespace: string; space: string; version?: number | undefined };
  #batches = true;

  /** `where.version`: the files of that snapshot (head's when absent). */
  constructor(api: ServerApi, where: { namespace: string; space: string; version?: number | undefined }) {
    this.#api = api;
    this.#where = where;
  }

  #at(): { version?: number } {
    return this.#where.version !== undefined ? { version: this.#where.version } : {};
  }

  /** One answer per name, in order (at most GRANT_BATCH_MAX names). */
  async many(names: readonly string[]): Promise<GrantAnswer[]> {
    if (names.length === 0) return [];
    const { namespace, space } = this.#where;
    if (this.#batches) {
      try {
        const answer = await this.#api.downloadBatch(namespace, space, names, this.#at());
        return answer.files.map(({ index: _index, ...rest }) => rest as GrantAnswer);
      } catch (error) {
        // An older server has no such route (the space itself is known to exist by now).
        if (!(error instanceof ApiError && (error.status === 404 || error.status === 405))) throw error;
        this.#batches = false;
      }
    }
    const answers: GrantAnswer[] = [];
    for (const name of names) answers.push(await this.one(name).catch(entryError));
    return answers;
  }

  one(name: string): Promise<DownloadGrant> {
    return this.#api.downloadGrant(this.#where.namespace, this.#where.space, name, this.#at());
  }
}

function entryError(error: unknown): GrantAnswer {
  if (error instanceof ApiError && error.status < 500 && error.status !== 401)
    return { error: { code: error.code, message: error.message } };
  throw error;
}

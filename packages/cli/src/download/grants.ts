import type { Dispatcher } from 'undici';
import type { DownloadGrant, ServerApi } from '../api.ts';
import { ApiError, CliError } from '../errors.ts';
import { requestJson } from '../http.ts';

/** Entries in one `POST /downloads/batch`. */
export const GRANT_BATCH_MAX = 1000;

export type GrantAnswer = DownloadGrant | { error: { code: string; message: string } };

/**
 * Signed download URLs for files of a space: `POST /downloads/batch` for up to 1000 names at once,
 * or one `GET …/files/download` per name against a server without it.
 */
export class Grants {
  readonly #api: ServerApi;
  readonly #dispatcher: Dispatcher;
  readonly #token: string | undefined;
  readonly #where: { namespace: string; space: string };
  #batches = true;

  constructor(
    api: ServerApi,
    dispatcher: Dispatcher,
    token: string | undefined,
    where: { namespace: string; space: string },
  ) {
    this.#api = api;
    this.#dispatcher = dispatcher;
    this.#token = token;
    this.#where = where;
  }

  /** One answer per name, in order (at most GRANT_BATCH_MAX names). */
  async many(names: readonly string[]): Promise<GrantAnswer[]> {
    if (names.length === 0) return [];
    if (this.#batches) {
      try {
        const answer = await requestJson<{ files: Array<GrantAnswer & { index: number }> }>(
          this.#dispatcher,
          'POST',
          `${this.#api.server}/downloads/batch`,
          { token: this.#authed(), body: { ...this.#where, files: names.map((name) => ({ name })) } },
        );
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
    return this.#api.downloadGrant(this.#where.namespace, this.#where.space, name);
  }

  #authed(): string {
    if (!this.#token)
      throw new CliError(`not logged in to ${this.#api.server}: run \`dreamlake login\` (or set DREAMLAKE_TOKEN)`);
    return this.#token;
  }
}

function entryError(error: unknown): GrantAnswer {
  if (error instanceof ApiError && error.status < 500 && error.status !== 401)
    return { error: { code: error.code, message: error.message } };
  throw error;
}

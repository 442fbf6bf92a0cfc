import { ApiError } from '../errors.ts';

/** The server's answer when the route itself is missing (an older server), not a missing thing. */
export function isMissingRoute(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.status !== 404) return false;
  return error.code !== 'not_found' || /no route/i.test(error.message);
}

/**
 * The routes of a run that an older server may lack, each with the older way taken without it:
 * - `lookup`: `POST …/files/lookup`; without it every file is taken as missing and granted.
 * - `batchGrants`: `POST …/uploads/batch`; without it each file is granted and registered alone.
 * - `commits`: `POST …/commits` and drafts; without them the names are registered (no snapshot).
 * - `batchRegister`: `POST …/files/batch`; without it each name is registered alone.
 */
export type Capability = 'lookup' | 'batchGrants' | 'commits' | 'batchRegister';

/**
 * What the server answers to, learnt once for the run: every route counts as there until the
 * server answers a request to it "no such route", and from then on as missing, so that the run
 * asks an older server each thing once and then branches on what it learnt. One for a run,
 * shared by its parts (the run's windows and its commit).
 */
export class ServerCapabilities {
  readonly #missing = new Set<Capability>();

  has(capability: Capability): boolean {
    return !this.#missing.has(capability);
  }

  /**
   * Runs `request` against a route not known to be missing. A "no such route" answer marks it
   * missing and gives undefined (the caller takes the older way); other failures are thrown.
   */
  async ask<T>(capability: Capability, request: () => Promise<T>): Promise<T | undefined> {
    if (this.#missing.has(capability)) return undefined;
    try {
      return await request();
    } catch (error) {
      if (!isMissingRoute(error)) throw error;
      this.#missing.add(capability);
      return undefined;
    }
  }
}

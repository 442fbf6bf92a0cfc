/// <reference lib="dom" />
/**
 * The login token. Kept in sessionStorage: it survives a reload of this tab (so an upload resumes
 * without logging in again) but not the tab itself, is not shared with other tabs, and never
 * lands in localStorage, which lives on disk until removed. The page's strict CSP (no inline or
 * foreign script) is what keeps other code from reading it.
 */
const KEY = 'dreamlake.token';

export class Session {
  #token: string | undefined;
  #waiters: Array<() => void> = [];

  constructor() {
    this.#token = sessionStorage.getItem(KEY) ?? undefined;
  }

  get token(): string | undefined {
    return this.#token;
  }

  set(token: string): void {
    this.#token = token;
    sessionStorage.setItem(KEY, token);
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  clear(): void {
    this.#token = undefined;
    sessionStorage.removeItem(KEY);
  }

  /** Resolves at the next login. */
  next(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

import type {
  BatchGrantEntry,
  BatchGrantFile,
  DownloadBatchEntry,
  DownloadGrant,
  IndexedFile,
  InitAnswer,
  InitRequest,
  LookupState,
  Me,
  RegisterEntry,
  RegisterRequest,
  Space,
} from '../wire.ts';
import { type CallOptions, requestJson, type Transport } from './transport.ts';

const seg = encodeURIComponent;
const spacePath = (namespace: string, space: string): string => `/namespaces/${seg(namespace)}/spaces/${seg(space)}`;

/** `GET …/files`: which page to answer. */
export interface FilePageOptions {
  /** Files in the page, 1 to 10,000 (the server's default: 1,000). */
  limit?: number;
  /** The `next` of the page before. */
  cursor?: string;
  /** Only names that start with this. */
  prefix?: string;
}

/** One page of a space's files, and the cursor of the next when there is one. */
export interface FilePage {
  files: IndexedFile[];
  next?: string;
}

export interface ServerApiOptions {
  /** The token, asked for on every request: a fresh login takes effect at once for requests still queued. */
  token?: () => string | undefined;
  /** What a request needing a token fails with when there is none (by default it goes without, and gets 401). */
  noToken?: () => Error;
  /** Rewrites a 401 answer to a request made with a token (to say how to log in again, say). */
  unauthorized?: (error: Error) => Error;
}

/** The DreamLake server's API (docs/protocol.md, "Server"), over any fetch. */
export class ServerApi {
  readonly base: string;
  readonly #via: Transport;
  readonly #options: ServerApiOptions;

  constructor(base: string, via: Transport, options: ServerApiOptions = {}) {
    this.base = base.replace(/\/+$/, '');
    this.#via = via;
    this.#options = options;
  }

  async #authed<T>(method: string, path: string, body?: unknown, call: CallOptions = {}): Promise<T> {
    const token = this.#options.token?.();
    if (!token && this.#options.noToken) throw this.#options.noToken();
    try {
      return await requestJson<T>(this.#via, method, `${this.base}${path}`, { ...call, body, token });
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      if (status === 401 && this.#options.unauthorized) throw this.#options.unauthorized(error as Error);
      throw error;
    }
  }

  signup(username: string, password: string): Promise<{ token: string; expiresAt?: string }> {
    return requestJson(this.#via, 'POST', `${this.base}/auth/signup`, { body: { username, password } });
  }

  login(username: string, password: string): Promise<{ token: string; expiresAt?: string }> {
    return requestJson(this.#via, 'POST', `${this.base}/auth/login`, { body: { username, password } });
  }

  me(call?: CallOptions): Promise<Me> {
    return this.#authed('GET', '/auth/me', undefined, call);
  }

  spaces(namespace: string, call?: CallOptions): Promise<{ spaces: Space[] }> {
    return this.#authed('GET', `/namespaces/${seg(namespace)}/spaces`, undefined, call);
  }

  createSpace(namespace: string, name: string, call?: CallOptions): Promise<Space> {
    return this.#authed('POST', `/namespaces/${seg(namespace)}/spaces`, { name }, call);
  }

  /** One file's grant (`POST /uploads/init`): the five signed BSS URLs, or `exists`. */
  initUpload(body: InitRequest, call?: CallOptions): Promise<InitAnswer> {
    return this.#authed('POST', '/uploads/init', body, call);
  }

  /** Grants for up to 1,000 files at once; each entry answers on its own (granted, exists or error). */
  grantBatch(
    namespace: string,
    space: string,
    files: BatchGrantFile[],
    call?: CallOptions,
  ): Promise<{ files: BatchGrantEntry[] }> {
    return this.#authed('POST', '/uploads/batch', { namespace, space, files }, call);
  }

  /** Which of these names and hashes the space holds already. */
  lookupFiles(
    namespace: string,
    space: string,
    files: Array<{ name: string; hash: string }>,
    call?: CallOptions,
  ): Promise<{ files: LookupState[] }> {
    return this.#authed('POST', `${spacePath(namespace, space)}/files/lookup`, { files }, call);
  }

  registerFile(
    namespace: string,
    space: string,
    file: RegisterRequest,
    call?: CallOptions,
  ): Promise<{ file: IndexedFile }> {
    return this.#authed('POST', `${spacePath(namespace, space)}/files`, file, call);
  }

  registerFiles(
    namespace: string,
    space: string,
    files: RegisterRequest[],
    call?: CallOptions,
  ): Promise<{ files: RegisterEntry[] }> {
    return this.#authed('POST', `${spacePath(namespace, space)}/files/batch`, { files }, call);
  }

  /** One page of a space's files in name order; `next` (absent on the last page) asks for the page after. */
  listFilesPage(namespace: string, space: string, page: FilePageOptions = {}, call?: CallOptions): Promise<FilePage> {
    const query = new URLSearchParams();
    if (page.limit !== undefined) query.set('limit', String(page.limit));
    if (page.cursor !== undefined) query.set('cursor', page.cursor);
    if (page.prefix) query.set('prefix', page.prefix);
    const search = query.toString();
    return this.#authed('GET', `${spacePath(namespace, space)}/files${search ? `?${search}` : ''}`, undefined, call);
  }

  /**
   * Every file of a space (or of those whose names start with `prefix`), in name order: the pages
   * followed until the last. A server that does not page answers all in one page without `next`.
   */
  async listFiles(
    namespace: string,
    space: string,
    options: CallOptions & { prefix?: string | undefined } = {},
  ): Promise<{ files: IndexedFile[] }> {
    const { prefix, ...call } = options;
    const files: IndexedFile[] = [];
    let cursor: string | undefined;
    do {
      const page: FilePage = await this.listFilesPage(
        namespace,
        space,
        { ...(prefix ? { prefix } : {}), ...(cursor !== undefined ? { cursor } : {}) },
        call,
      );
      for (const file of page.files) files.push(file);
      if (page.next !== undefined && page.next === cursor)
        throw this.#via.errors.invalid(`${this.base}${spacePath(namespace, space)}/files`, 'the same page twice');
      cursor = page.next;
    } while (cursor !== undefined);
    return { files };
  }

  downloadGrant(namespace: string, space: string, name: string, call?: CallOptions): Promise<DownloadGrant> {
    return this.#authed('GET', `${spacePath(namespace, space)}/files/download?name=${seg(name)}`, undefined, call);
  }

  /** Signed download URLs for up to 1,000 names at once, one entry per name. */
  downloadBatch(
    namespace: string,
    space: string,
    names: readonly string[],
    call?: CallOptions,
  ): Promise<{ files: DownloadBatchEntry[] }> {
    const files = names.map((name) => ({ name }));
    return this.#authed('POST', '/downloads/batch', { namespace, space, files }, call);
  }
}

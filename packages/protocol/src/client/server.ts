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

  listFiles(namespace: string, space: string, call?: CallOptions): Promise<{ files: IndexedFile[] }> {
    return this.#authed('GET', `${spacePath(namespace, space)}/files`, undefined, call);
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

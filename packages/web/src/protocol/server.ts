import { requestJson } from './http.ts';
import type {
  BatchGrantEntry,
  BatchGrantFile,
  DownloadGrant,
  IndexedFile,
  InitAnswer,
  InitRequest,
  Me,
  RegisterRequest,
  Space,
} from './types.ts';

const seg = encodeURIComponent;
const spacePath = (namespace: string, space: string): string => `/namespaces/${seg(namespace)}/spaces/${seg(space)}`;

/**
 * The DreamLake server's API (docs/protocol.md, "Server"). `token` is asked for on every request,
 * so a fresh login takes effect at once for the requests still queued.
 */
export class ServerApi {
  readonly base: string;
  readonly #token: () => string | undefined;

  constructor(base: string, token: () => string | undefined) {
    this.base = base.replace(/\/+$/, '');
    this.#token = token;
  }

  #call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return requestJson<T>(method, `${this.base}${path}`, { body, token: this.#token(), signal });
  }

  signup(username: string, password: string): Promise<{ token: string }> {
    return requestJson('POST', `${this.base}/auth/signup`, { body: { username, password } });
  }

  login(username: string, password: string): Promise<{ token: string; expiresAt?: string }> {
    return requestJson('POST', `${this.base}/auth/login`, { body: { username, password } });
  }

  me(): Promise<Me> {
    return this.#call('GET', '/auth/me');
  }

  spaces(namespace: string): Promise<{ spaces: Space[] }> {
    return this.#call('GET', `/namespaces/${seg(namespace)}/spaces`);
  }

  createSpace(namespace: string, name: string): Promise<Space> {
    return this.#call('POST', `/namespaces/${seg(namespace)}/spaces`, { name });
  }

  /** One file's grant (`POST /uploads/init`). */
  grant(body: InitRequest, signal?: AbortSignal): Promise<InitAnswer> {
    return this.#call('POST', '/uploads/init', body, signal);
  }

  /** Grants for up to 1000 files at once; each entry answers on its own (granted, exists or error). */
  grantBatch(
    namespace: string,
    space: string,
    files: BatchGrantFile[],
    signal?: AbortSignal,
  ): Promise<{ files: BatchGrantEntry[] }> {
    return this.#call('POST', '/uploads/batch', { namespace, space, files }, signal);
  }

  register(
    namespace: string,
    space: string,
    file: RegisterRequest,
    signal?: AbortSignal,
  ): Promise<{ file: IndexedFile }> {
    return this.#call('POST', `${spacePath(namespace, space)}/files`, file, signal);
  }

  list(namespace: string, space: string): Promise<{ files: IndexedFile[] }> {
    return this.#call('GET', `${spacePath(namespace, space)}/files`);
  }

  downloadGrant(namespace: string, space: string, name: string): Promise<DownloadGrant> {
    return this.#call('GET', `${spacePath(namespace, space)}/files/download?name=${seg(name)}`);
  }
}

import type {
  BatchGrantEntry,
  BatchGrantFile,
  DownloadGrant,
  IndexedFile,
  InitAnswer,
  InitRequest,
  LookupState,
  RegisterEntry,
  RegisterRequest,
} from '@dreamlake/protocol';
import type { Dispatcher } from 'undici';
import { ApiError, CliError } from './errors.ts';
import { requestJson } from './http.ts';

/** The wire types this client speaks (requests and answers) are the protocol's. */
export type {
  BatchGrant,
  BatchGrantEntry,
  BatchGrantFile,
  BlobReceipt,
  DownloadGrant,
  ErrorAnswer,
  IndexedFile,
  InitAnswer,
  InitRequest,
  LookupState,
  RegisterEntry,
  RegisterRequest,
  UploadGrant,
} from '@dreamlake/protocol';

export interface Me {
  username: string;
  namespaces: Array<{ name: string; kind: string; role: string }>;
}

const seg = encodeURIComponent;
const spacePath = (namespace: string, space: string): string => `/namespaces/${seg(namespace)}/spaces/${seg(space)}`;

/** The DreamLake server's API, as docs/protocol.md describes it. */
export class ServerApi {
  readonly server: string;
  readonly #dispatcher: Dispatcher;
  readonly #token: string | undefined;

  constructor(server: string, dispatcher: Dispatcher, token: string | undefined) {
    this.server = server;
    this.#dispatcher = dispatcher;
    this.#token = token;
  }

  #url(path: string): string {
    return `${this.server}${path}`;
  }

  /** A request with the token; a 401 says how to get a new one. */
  async #withToken<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    try {
      return await requestJson<T>(this.#dispatcher, method, this.#url(path), { token: this.#authed(), body });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        throw new ApiError(401, error.wireCode, `${error.message}; log in again with \`dreamlake login\``);
      }
      throw error;
    }
  }

  #authed(): string {
    if (!this.#token)
      throw new CliError(`not logged in to ${this.server}: run \`dreamlake login\` (or set DREAMLAKE_TOKEN)`);
    return this.#token;
  }

  signup(username: string, password: string): Promise<{ token: string }> {
    return requestJson(this.#dispatcher, 'POST', this.#url('/auth/signup'), { body: { username, password } });
  }

  login(username: string, password: string): Promise<{ token: string; expiresAt?: string }> {
    return requestJson(this.#dispatcher, 'POST', this.#url('/auth/login'), { body: { username, password } });
  }

  me(): Promise<Me> {
    return this.#withToken('GET', '/auth/me');
  }

  initUpload(body: InitRequest): Promise<InitAnswer> {
    return this.#withToken('POST', '/uploads/init', body);
  }

  registerFile(namespace: string, space: string, file: RegisterRequest): Promise<{ file: IndexedFile }> {
    return this.#withToken('POST', `${spacePath(namespace, space)}/files`, file);
  }

  grantBatch(namespace: string, space: string, files: BatchGrantFile[]): Promise<{ files: BatchGrantEntry[] }> {
    return this.#withToken('POST', '/uploads/batch', { namespace, space, files });
  }

  lookupFiles(
    namespace: string,
    space: string,
    files: Array<{ name: string; hash: string }>,
  ): Promise<{ files: LookupState[] }> {
    return this.#withToken('POST', `${spacePath(namespace, space)}/files/lookup`, { files });
  }

  registerFiles(namespace: string, space: string, files: RegisterRequest[]): Promise<{ files: RegisterEntry[] }> {
    return this.#withToken('POST', `${spacePath(namespace, space)}/files/batch`, { files });
  }

  listFiles(namespace: string, space: string): Promise<{ files: IndexedFile[] }> {
    return this.#withToken('GET', `${spacePath(namespace, space)}/files`);
  }

  downloadGrant(namespace: string, space: string, name: string): Promise<DownloadGrant> {
    const path = `${spacePath(namespace, space)}/files/download?name=${seg(name)}`;
    return this.#withToken('GET', path);
  }
}

import type { Dispatcher } from 'undici';
import { ApiError, CliError } from './errors.ts';
import { requestJson } from './http.ts';
import type { AssetType } from './types.ts';

/** A file in a space's index, as the server describes it. */
export interface IndexedFile {
  namespace: string;
  space: string;
  name: string;
  type: string;
  size: number;
  contentType: string;
  hash: string;
  uploadedBy?: string;
  createdAt?: string;
}

/** The BSS URLs `POST /uploads/init` hands out for one file. */
export interface UploadGrant {
  initUrl: string;
  partsUrl: string;
  partsDoneUrl: string;
  completeUrl: string;
  abortUrl: string;
  expiresAt?: string;
}

/** BSS's signed word that it holds a verified blob (docs/protocol.md, Receipts): passed on to register. */
export interface BlobReceipt {
  size: number;
  contentType: string;
  exp: number;
  sig: string;
}

/** A granted entry of `POST /uploads/batch`: the five URLs, and `singleUrl` for a file of one part. */
export interface BatchGrant extends UploadGrant {
  singleUrl?: string;
}

export interface ErrorAnswer {
  error: { code: string; message: string };
}

export type BatchGrantEntry = { index: number } & (
  | { exists: true; file: IndexedFile }
  | (BatchGrant & { exists?: false })
  | ErrorAnswer
);

export interface BatchGrantFile {
  filename: string;
  hash: string;
  contentType: string;
  type: AssetType;
  size: number;
}

/** Whether a space holds a file: its name points at that hash, the hash is there under another name, or neither. */
export type LookupState = 'indexed' | 'held' | 'missing';

export interface RegisterRequest {
  name: string;
  hash: string;
  type: string;
  contentType: string;
  receipt?: BlobReceipt;
}

export type RegisterEntry = { index: number } & ({ file: IndexedFile; created: boolean } | ErrorAnswer);

export type InitAnswer = { exists: true; file: IndexedFile } | (UploadGrant & { exists?: false });

export interface InitRequest {
  namespace: string;
  space: string;
  filename: string;
  hash: string;
  contentType: string;
  type: AssetType;
  size: number;
}

export interface Me {
  username: string;
  namespaces: Array<{ name: string; kind: string; role: string }>;
}

export interface DownloadGrant {
  url: string;
  name: string;
  hash: string;
  size: number;
  contentType: string;
  expiresAt?: string;
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
        throw new ApiError(401, error.code, `${error.message}; log in again with \`dreamlake login\``);
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

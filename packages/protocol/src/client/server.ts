import type {
  BatchGrantEntry,
  BatchGrantFile,
  CommitAnswer,
  CommitChanges,
  CommitRequest,
  CreatedShare,
  DiffEntry,
  DownloadBatchEntry,
  DownloadGrant,
  DraftView,
  IndexedFile,
  InitAnswer,
  InitRequest,
  ListedShare,
  LookupState,
  Me,
  RegisterEntry,
  RegisterRequest,
  SharedFile,
  ShareInfo,
  SnapshotKey,
  SnapshotReceipt,
  SnapshotView,
  Space,
} from '../wire.ts';

export type { CreatedShare, ListedShare, SharedFile, ShareInfo, ShareView, SnapshotKey } from '../wire.ts';

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
  /** The files of this snapshot (default: head). */
  version?: number;
}

/** One page of a space's files, and the cursor of the next when there is one. */
export interface FilePage {
  files: IndexedFile[];
  next?: string;
}

/** `GET …/snapshots` and `GET …/diff`: which page to answer. */
export interface PageOptions {
  /** Items in the page (the server's default: 100 snapshots, 1,000 changes). */
  limit?: number;
  /** The `next` of the page before. */
  cursor?: string;
}

/** One page of a space's snapshots, newest first. */
export interface SnapshotPage {
  snapshots: SnapshotView[];
  next?: string;
}

/** One page of the names that differ between two versions, in name order. */
export interface DiffPage {
  from: number;
  to: number;
  changes: DiffEntry[];
  next?: string;
}

/** `GET …/snapshots/{version}`: the snapshot (with its manifestHash) and the server's signature over it. */
export interface SignedSnapshot {
  snapshot: SnapshotView;
  receipt: SnapshotReceipt;
}

/** Options of a call that reads a space at a version (head when `version` is absent). */
export type AtVersion = CallOptions & { version?: number | undefined };

const pageQuery = (entries: Record<string, string | number | undefined>): string => {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(entries))
    if (value !== undefined && value !== '') query.set(key, String(value));
  const search = query.toString();
  return search ? `?${search}` : '';
};

/** `POST /shares`: what a new share link names (head at each use unless `version`; the whole space unless `prefix`). */
export interface ShareRequest {
  namespace: string;
  space: string;
  version?: number;
  prefix?: string;
  /** How long the link works (the server's default: 7 days; at most its SHARE_MAX_SECONDS). */
  expiresInSeconds?: number;
}

/** One entry of `POST /s/{secret}/downloads`: a URL minted now, or the entry's error. */
export type ShareGrantEntry =
  | (SharedFile & { index: number; url: string; expiresAt: string })
  | { index: number; error: { code: string; message: string } };

const sharePath = (secret: string): string => `/s/${seg(secret)}`;

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
    const search = pageQuery({ limit: page.limit, cursor: page.cursor, prefix: page.prefix, version: page.version });
    return this.#authed('GET', `${spacePath(namespace, space)}/files${search}`, undefined, call);
  }

  /**
   * Every file of a space (or of those whose names start with `prefix`), in name order: the pages
   * followed until the last. A server that does not page answers all in one page without `next`.
   */
  async listFiles(
    namespace: string,
    space: string,
    options: CallOptions & { prefix?: string | undefined; version?: number | undefined } = {},
  ): Promise<{ files: IndexedFile[] }> {
    const { prefix, version, ...call } = options;
    const files: IndexedFile[] = [];
    let cursor: string | undefined;
    do {
      const page: FilePage = await this.listFilesPage(
        namespace,
        space,
        {
          ...(prefix ? { prefix } : {}),
          ...(cursor !== undefined ? { cursor } : {}),
          ...(version !== undefined ? { version } : {}),
        },
        call,
      );
      for (const file of page.files) files.push(file);
      if (page.next !== undefined && page.next === cursor)
        throw this.#via.errors.invalid(`${this.base}${spacePath(namespace, space)}/files`, 'the same page twice');
      cursor = page.next;
    } while (cursor !== undefined);
    return { files };
  }

  /** A signed URL for one name's bytes, at head or at `options.version`. */
  downloadGrant(namespace: string, space: string, name: string, options: AtVersion = {}): Promise<DownloadGrant> {
    const { version, ...call } = options;
    const search = pageQuery({ name, version });
    return this.#authed('GET', `${spacePath(namespace, space)}/files/download${search}`, undefined, call);
  }

  /** Signed download URLs for up to 1,000 names at once (at head or at `options.version`), one entry per name. */
  downloadBatch(
    namespace: string,
    space: string,
    names: readonly string[],
    options: AtVersion = {},
  ): Promise<{ files: DownloadBatchEntry[] }> {
    const { version, ...call } = options;
    const files = names.map((name) => ({ name }));
    const body = version !== undefined ? { namespace, space, files, version } : { namespace, space, files };
    return this.#authed('POST', '/downloads/batch', body, call);
  }

  /**
   * One snapshot of up to 1,000 changes (`POST …/commits`): 201 `created` with the snapshot made,
   * or `created: false` with head when nothing changed. Creates the space when missing.
   */
  commit(namespace: string, space: string, body: CommitRequest, call?: CallOptions): Promise<CommitAnswer> {
    return this.#authed('POST', `${spacePath(namespace, space)}/commits`, body, call);
  }

  /** Opens a draft: a commit larger than one request, its changes added in batches, then committed as one snapshot. */
  openDraft(
    namespace: string,
    space: string,
    body: { parent?: number; message?: string } = {},
    call?: CallOptions,
  ): Promise<DraftView> {
    return this.#authed('POST', `${spacePath(namespace, space)}/drafts`, body, call);
  }

  /** Adds up to 1,000 changes to a draft (a name put again replaces its entry): the draft's entry count. */
  addDraftEntries(
    namespace: string,
    space: string,
    id: string,
    changes: CommitChanges,
    call?: CallOptions,
  ): Promise<{ entries: number }> {
    return this.#authed('POST', `${spacePath(namespace, space)}/drafts/${seg(id)}/entries`, changes, call);
  }

  /** Commits a draft as one snapshot (as `commit`); the draft is gone after. */
  commitDraft(
    namespace: string,
    space: string,
    id: string,
    body: { message?: string } = {},
    call?: CallOptions,
  ): Promise<CommitAnswer> {
    return this.#authed('POST', `${spacePath(namespace, space)}/drafts/${seg(id)}/commit`, body, call);
  }

  /** Drops a draft uncommitted. */
  async deleteDraft(namespace: string, space: string, id: string, call?: CallOptions): Promise<void> {
    await this.#authed('DELETE', `${spacePath(namespace, space)}/drafts/${seg(id)}`, undefined, call);
  }

  /** A new snapshot equal to `body.version` (`created: false` when head already is). */
  restore(
    namespace: string,
    space: string,
    body: { version: number; parent?: number; message?: string },
    call?: CallOptions,
  ): Promise<CommitAnswer> {
    return this.#authed('POST', `${spacePath(namespace, space)}/restore`, body, call);
  }

  /** One page of a space's snapshots, newest first; `next` (absent on the last page) asks for the page after. */
  snapshots(namespace: string, space: string, page: PageOptions = {}, call?: CallOptions): Promise<SnapshotPage> {
    const search = pageQuery({ limit: page.limit, cursor: page.cursor });
    return this.#authed('GET', `${spacePath(namespace, space)}/snapshots${search}`, undefined, call);
  }

  /** One snapshot with its manifestHash, and the server's signed receipt of it. */
  snapshot(namespace: string, space: string, version: number, call?: CallOptions): Promise<SignedSnapshot> {
    return this.#authed('GET', `${spacePath(namespace, space)}/snapshots/${version}`, undefined, call);
  }

  /** One page of the names that differ from version `from` to version `to` (either may be 0: empty), in name order. */
  diff(
    namespace: string,
    space: string,
    from: number,
    to: number,
    page: PageOptions = {},
    call?: CallOptions,
  ): Promise<DiffPage> {
    const search = pageQuery({ from, to, limit: page.limit, cursor: page.cursor });
    return this.#authed('GET', `${spacePath(namespace, space)}/diff${search}`, undefined, call);
  }

  /** The public keys snapshot receipts are signed with (no token needed). */
  snapshotKeys(call?: CallOptions): Promise<{ keys: SnapshotKey[] }> {
    return requestJson(this.#via, 'GET', `${this.base}/.well-known/dreamlake-snapshot-keys.json`, call ?? {});
  }

  /** Makes a share link (the caller must be a writer of the namespace; a token needs the `share` scope). */
  createShare(body: ShareRequest, call?: CallOptions): Promise<CreatedShare> {
    return this.#authed('POST', '/shares', body, call);
  }

  /** The unrevoked share links of the caller's namespaces (or of one), with their use counts. */
  shares(namespace?: string, call?: CallOptions): Promise<{ shares: ListedShare[] }> {
    return this.#authed('GET', `/shares${pageQuery({ namespace })}`, undefined, call);
  }

  /** Revokes a share link: it stops handing out download URLs at once. */
  async revokeShare(id: string, call?: CallOptions): Promise<void> {
    await this.#authed('DELETE', `/shares/${seg(id)}`, undefined, call);
  }

  /** What a share link names now (no token: the secret is the credential). */
  shareInfo(secret: string, call: CallOptions = {}): Promise<ShareInfo> {
    return requestJson(this.#via, 'GET', `${this.base}${sharePath(secret)}/info`, call);
  }

  /** Every file a share link names at `version` (the one it serves), page after page. */
  async shareFiles(
    secret: string,
    options: CallOptions & { version?: number | undefined; prefix?: string | undefined } = {},
  ): Promise<{ files: SharedFile[] }> {
    const { version, prefix, ...call } = options;
    const files: SharedFile[] = [];
    let cursor: string | undefined;
    do {
      const url = `${this.base}${sharePath(secret)}/files${pageQuery({ version, prefix, cursor })}`;
      const page: { files: SharedFile[]; next?: string } = await requestJson(this.#via, 'GET', url, call);
      for (const file of page.files) files.push(file);
      if (page.next !== undefined && page.next === cursor) throw this.#via.errors.invalid(url, 'the same page twice');
      cursor = page.next;
    } while (cursor !== undefined);
    return { files };
  }

  /** Download URLs, minted now, for up to 1,000 names a share link names, one entry per name. */
  shareGrants(
    secret: string,
    names: readonly string[],
    options: AtVersion = {},
  ): Promise<{ files: ShareGrantEntry[] }> {
    const { version, ...call } = options;
    const files = names.map((name) => ({ name }));
    const body = version !== undefined ? { version, files } : { files };
    return requestJson(this.#via, 'POST', `${this.base}${sharePath(secret)}/downloads`, { ...call, body });
  }
}

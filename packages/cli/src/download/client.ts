import { type DownloadGrant, type IndexedFile, ServerApi } from '../api.ts';
import { BandwidthLimiter } from '../bwlimit.ts';
import { ApiError, CliError } from '../errors.ts';
import { createAgent } from '../http.ts';
import { shownName } from '../shown-name.ts';
import { Budget } from '../transfer/budget.ts';
import { HashCache } from '../transfer/hash-cache.ts';
import { DEFAULT_RETRY, type RetryOptions } from '../transfer/retry.ts';
import { Grants } from './grants.ts';
import { type DownloadEvents, type DownloadItem, downloadItems, type FileOutcome, type RunOptions } from './run.ts';

const MIB = 1024 * 1024;

export interface DownloadClientOptions {
  server: string;
  token: string | undefined;
  /** The CLI's home: the hash cache lives there. */
  home: string;
  signal?: AbortSignal;
  retry?: RetryOptions;
  /** Requests receiving bodies at once, and the bytes they may be asked for (the upload's scheme). */
  requests?: number;
  bytesInFlight?: number;
  /** Files larger than this come as ranges of this size. */
  chunkSize?: number;
  rangesPerFile?: number;
  /** `--bwlimit`: bytes per second for the whole run, shared by every file and range. */
  bwlimit?: number | undefined;
}

/** What a path in a space names: one file, or the files under a folder prefix. */
export type Remote =
  | { kind: 'file'; grant: DownloadGrant }
  | { kind: 'folder'; files: IndexedFile[] /** `''` or a folder path ending in `/`. */; prefix: string };

/**
 * A single file as a download item: under its base name in `folder`, through the same name checks
 * as a folder's files (see pathUnder), unless the caller named the target file itself.
 */
export function fileItem(grant: DownloadGrant, target?: string): DownloadItem {
  const item: DownloadItem = {
    name: grant.name,
    hash: grant.hash,
    size: grant.size,
    relative: grant.name.split('/').pop() as string,
    url: grant.url,
  };
  if (target !== undefined) item.target = target;
  return item;
}

/** A folder's files as download items, each at its path relative to the folder. */
export function folderItems(remote: Extract<Remote, { kind: 'folder' }>): DownloadItem[] {
  return remote.files.map((f) => ({
    name: f.name,
    hash: f.hash,
    size: f.size,
    relative: f.name.slice(remote.prefix.length),
  }));
}

export const DEFAULTS = {
  requests: 16,
  bytesInFlight: 64 * MIB,
  chunkSize: 8 * MIB,
  rangesPerFile: 8,
} as const;

/**
 * Downloads from one server over one keep-alive pool: resolves what a path names, then fetches
 * files with one budget for the whole run. Prints nothing; reports through events.
 */
export class DownloadClient {
  readonly api: ServerApi;
  readonly #options: DownloadClientOptions;
  readonly #agent;
  readonly #cache: HashCache;
  readonly #limiter: BandwidthLimiter | undefined;

  constructor(options: DownloadClientOptions) {
    this.#options = options;
    this.#limiter = options.bwlimit ? new BandwidthLimiter(options.bwlimit) : undefined;
    // One connection per request in flight, and one for the server's calls.
    this.#agent = createAgent((options.requests ?? DEFAULTS.requests) + 2);
    this.api = new ServerApi(options.server, this.#agent, options.token);
    this.#cache = new HashCache(options.home);
  }

  /**
   * `path` empty or ending in `/`: the files under it. Otherwise the file of that name when the
   * index holds one, else the files under `path/`. A space that does not exist, or that the
   * caller may not read, is the server's 404; a folder with nothing under it is a 404 too.
   * `version`: in that snapshot (head when absent).
   */
  async resolve(namespace: string, space: string, path: string, version?: number): Promise<Remote> {
    const at = version !== undefined ? { version } : {};
    const shown = `${namespace}/${space}${version !== undefined ? `@${version}` : ''}`;
    if (path !== '' && !path.endsWith('/')) {
      try {
        const grant = await this.api.downloadGrant(namespace, space, path, at);
        // The local name comes from the name asked for, never from a server that answers another.
        if (grant.name !== path)
          throw new CliError(`the server answered for "${shownName(grant.name)}" when asked for "${path}"`);
        return { kind: 'file', grant };
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
      }
    }
    const prefix = path === '' || path.endsWith('/') ? path : `${path}/`;
    // Every page; the server keeps to the prefix, and an older one that lists all is filtered here.
    const { files } = await this.api.listFiles(namespace, space, { prefix, ...at });
    const under = files.filter((f) => f.name.startsWith(prefix));
    if (under.length === 0) {
      const what = path === '' ? `space ${shown} holds no files` : `no file or folder "${path}" in ${shown}`;
      throw new ApiError(404, 'not_found', what);
    }
    return { kind: 'folder', files: under, prefix };
  }

  /** Fetches the items of one space, at `where.version` when given (see downloadItems). */
  fetch(
    where: { namespace: string; space: string; version?: number | undefined },
    items: readonly DownloadItem[],
    run: RunOptions,
    events?: DownloadEvents,
  ): Promise<FileOutcome[]> {
    const o = this.#options;
    const deps = {
      dispatcher: this.#agent,
      budget: new Budget(o.bytesInFlight ?? DEFAULTS.bytesInFlight, o.requests ?? DEFAULTS.requests),
      retry: o.retry ?? DEFAULT_RETRY,
      chunkSize: o.chunkSize ?? DEFAULTS.chunkSize,
      rangesPerFile: o.rangesPerFile ?? DEFAULTS.rangesPerFile,
      hashCache: this.#cache,
      fileConcurrency: o.requests ?? DEFAULTS.requests,
      grants: new Grants(this.api, where),
      limiter: this.#limiter,
      ...(o.signal ? { signal: o.signal } : {}),
    };
    return downloadItems(deps, items, run, events);
  }

  async close(): Promise<void> {
    await this.#cache.flush().catch(() => undefined);
    await this.#agent.close();
  }
}

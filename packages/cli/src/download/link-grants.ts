import type { ShareGrantEntry, ShareInfo } from '@dreamlake/protocol/client';
import { ServerApi } from '../api.ts';
import { BandwidthLimiter } from '../bwlimit.ts';
import { CliError } from '../errors.ts';
import { createAgent } from '../http.ts';
import { manifestHashOf, prefixFolder, type ShareLink } from '../share-link.ts';
import { Budget } from '../transfer/budget.ts';
import { HashCache } from '../transfer/hash-cache.ts';
import { DEFAULT_RETRY, type RetryOptions } from '../transfer/retry.ts';
import { DEFAULTS } from './client.ts';
import { GRANT_BATCH_MAX, type GrantAnswer } from './grants.ts';
import { type DownloadEvents, type DownloadItem, downloadItems, type FileOutcome, type RunOptions } from './run.ts';

/**
 * Signed download URLs through a share link, minted by the server at each call (no token: the
 * link's secret is the credential), at the version the link served when the download began.
 */
export class LinkGrants {
  readonly #api: ServerApi;
  readonly #secret: string;
  readonly #version: number;

  constructor(api: ServerApi, secret: string, version: number) {
    this.#api = api;
    this.#secret = secret;
    this.#version = version;
  }

  /** One answer per name, in order (at most GRANT_BATCH_MAX names). */
  async many(names: readonly string[]): Promise<GrantAnswer[]> {
    if (names.length === 0) return [];
    if (names.length > GRANT_BATCH_MAX) throw new Error(`at most ${GRANT_BATCH_MAX} names at once`);
    const answer = await this.#api.shareGrants(this.#secret, names, { version: this.#version });
    return answer.files.map(toGrant);
  }

  async one(name: string): Promise<{ url: string }> {
    const [answer] = await this.many([name]);
    if (!answer || 'error' in answer) throw new CliError(`"${name}": ${answer?.error.message ?? 'no answer'}`);
    return answer;
  }
}

function toGrant(entry: ShareGrantEntry): GrantAnswer {
  if ('error' in entry) return { error: entry.error };
  const { index: _index, type: _type, ...grant } = entry;
  return grant;
}

export interface LinkDownloadOptions {
  /** The CLI's home: the hash cache lives there. */
  home: string;
  signal?: AbortSignal;
  retry?: RetryOptions;
  requests?: number;
  bytesInFlight?: number;
  /** `--bwlimit`: bytes per second for the whole run, shared by every file and range. */
  bwlimit?: number | undefined;
}

/** What a link names when the download begins: its info and every file, as download items. */
export interface ResolvedLink {
  info: ShareInfo;
  items: DownloadItem[];
}

/**
 * Downloads what a share link names with the engine `dreamlake download` uses (parallel,
 * resumable, every file checked against its SHA-256), its URLs minted through the link.
 */
export class LinkDownloader {
  readonly api: ServerApi;
  readonly link: ShareLink;
  readonly #options: LinkDownloadOptions;
  readonly #agent;
  readonly #cache: HashCache;
  readonly #limiter: BandwidthLimiter | undefined;
  #version: number | undefined;

  constructor(link: ShareLink, options: LinkDownloadOptions) {
    this.link = link;
    this.#options = options;
    this.#limiter = options.bwlimit ? new BandwidthLimiter(options.bwlimit) : undefined;
    this.#agent = createAgent((options.requests ?? DEFAULTS.requests) + 2);
    this.api = new ServerApi(link.server, this.#agent, undefined);
    this.#cache = new HashCache(options.home);
  }

  /**
   * The link's version and files now, each at its path under the link's folder. For a link to a
   * whole space, the listing is checked against the version's manifestHash.
   */
  async resolve(): Promise<ResolvedLink> {
    const info = await this.api.shareInfo(this.link.secret);
    this.#version = info.version;
    const { files } = await this.api.shareFiles(this.link.secret, { version: info.version });
    if (info.prefix === '' && manifestHashOf(files) !== info.manifestHash)
      throw new CliError(
        `the files listed through the link do not hash to the manifestHash of ${info.namespace}/${info.space}@${info.version}`,
      );
    const folder = prefixFolder(info.prefix);
    const items = files.map((f) => ({
      name: f.name,
      hash: f.hash,
      size: f.size,
      relative: f.name.slice(folder.length),
    }));
    return { info, items };
  }

  /** Fetches the items (see downloadItems), with URLs minted through the link. */
  fetch(
    _where: { namespace: string; space: string },
    items: readonly DownloadItem[],
    run: RunOptions,
    events?: DownloadEvents,
  ): Promise<FileOutcome[]> {
    if (this.#version === undefined) throw new Error('resolve() the link first');
    const o = this.#options;
    const deps = {
      dispatcher: this.#agent,
      budget: new Budget(o.bytesInFlight ?? DEFAULTS.bytesInFlight, o.requests ?? DEFAULTS.requests),
      retry: o.retry ?? DEFAULT_RETRY,
      chunkSize: DEFAULTS.chunkSize,
      rangesPerFile: DEFAULTS.rangesPerFile,
      hashCache: this.#cache,
      fileConcurrency: o.requests ?? DEFAULTS.requests,
      grants: new LinkGrants(this.api, this.link.secret, this.#version),
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

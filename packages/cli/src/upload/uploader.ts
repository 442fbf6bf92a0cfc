import type { Dispatcher } from 'undici';
import type { BlobReceipt, IndexedFile, ServerApi, UploadGrant } from '../api.ts';
import { ApiError } from '../errors.ts';
import { type AssetType, detectContentType, detectType } from '../types.ts';
import { legacyGrant } from './bss.ts';
import type { Budget } from './budget.ts';
import { type FileDigest, HashCache, hashFile } from './hash.ts';
import { choosePartSize, partCount } from './plan.ts';
import { ResumeStore } from './resume-state.ts';
import { type RetryOptions, withRetry } from './retry.ts';
import { BlobAlreadyStored, Transfer } from './transfer.ts';

/** What the uploader tells the progress display and the log. */
export interface UploadEvents {
  hashed(name: string, bytes: number): void;
  /** Bytes put on the wire for a file; negative when a failed part's bytes are taken back. */
  sent(name: string, bytes: number): void;
  /** Bytes of parts BSS already held from an earlier run. */
  resumed(name: string, bytes: number): void;
  phase(name: string, phase: 'hashing' | 'uploading' | 'finishing'): void;
  note(message: string): void;
}

export interface UploadDeps {
  api: ServerApi;
  dispatcher: Dispatcher;
  home: string;
  /** A BSS URL for the legacy fallback, when configured. */
  bss: string | undefined;
  /** Parts in flight at once for this file. */
  concurrency: number;
  /** Shared by everything a run sends at once, so that files and parts together stay within bounds. */
  budget?: Budget;
  /** One cache for the whole run (files hashed at once must not overwrite each other's entries). */
  hashCache?: HashCache;
  retry: RetryOptions;
  events: UploadEvents;
}

export interface LocalFile {
  path: string;
  /** The name in the space's index (a relative path). */
  name: string;
  size: number;
}

export interface Target {
  namespace: string;
  space: string;
}

/** One line of `upload --json`. */
export interface FileResult {
  hash: string;
  size: number;
  type: AssetType;
  contentType: string;
  namespace: string;
  space: string;
  name: string;
  partsTotal: number;
  partsSent: number;
  skipped: boolean;
  /** True when the file went through the unsigned legacy BSS flow (and is not in the index). */
  legacy?: boolean;
}

/** The server's answer when the route itself is missing (an older server), not a missing thing. */
export function isMissingRoute(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.status !== 404) return false;
  return error.code !== 'not_found' || /no route/i.test(error.message);
}

/** A file once hashed: what its upload needs and the answer it will give. */
export interface Prepared {
  file: LocalFile;
  type: AssetType;
  contentType: string;
  digest: FileDigest;
  base: FileResult;
  /** The file's bytes, read once for both its hash and its upload (small files, when asked for). */
  bytes?: Buffer;
}

/** Hashes a file (or takes its digest from the cache) and works out its type and parts. */
export async function prepareFile(
  deps: UploadDeps,
  file: LocalFile,
  target: Target,
  typeOverride?: AssetType,
  keepBytes = 0,
): Promise<Prepared> {
  const type = typeOverride ?? detectType(file.name);
  const contentType = detectContentType(file.name);
  const partSize = choosePartSize(file.size);
  deps.events.phase(file.name, 'hashing');
  // Without the run's cache, a cache of this file's own, written back at once (no timer outlives the call).
  const cache = deps.hashCache ?? new HashCache(deps.home);
  const { digest, bytes } = await hashFile(
    cache,
    file.path,
    partSize,
    (n) => deps.events.hashed(file.name, n),
    keepBytes,
  );
  if (!deps.hashCache) await cache.flush();
  const base: FileResult = {
    hash: digest.sha256,
    size: file.size,
    type,
    contentType,
    namespace: target.namespace,
    space: target.space,
    name: file.name,
    partsTotal: partCount(file.size, partSize),
    partsSent: 0,
    skipped: false,
  };
  // Bytes of another length than the file had when it was listed would not match its grant.
  const kept = bytes !== undefined && bytes.length === file.size ? { bytes } : {};
  return { file, type, contentType, digest, base, ...kept };
}

export interface MultipartOutcome {
  partsSent: number;
  /** True when BSS turned out to hold the blob already. */
  stored: boolean;
  receipt: BlobReceipt | undefined;
}

/**
 * The multipart transfer of a prepared file through a grant (resumed when an earlier run left
 * one); `freshGrant` renews expired URLs. The resume state is gone once this answers.
 */
export async function sendMultipart(
  deps: UploadDeps,
  prepared: Prepared,
  target: Target,
  grant: UploadGrant,
  freshGrant: () => Promise<UploadGrant | { exists: true }>,
  legacy = false,
): Promise<MultipartOutcome> {
  const { file, digest, type, contentType } = prepared;
  const transfer = new Transfer(deps, file, target, digest, type, contentType, legacy, grant, async () => {
    const next = await freshGrant();
    if ('exists' in next && next.exists) throw new BlobAlreadyStored();
    return next as UploadGrant;
  });
  let outcome: MultipartOutcome;
  try {
    const { sent, receipt } = await transfer.run();
    deps.events.phase(file.name, 'finishing');
    outcome = { partsSent: sent, stored: false, receipt };
  } catch (error) {
    // Any other failure keeps the resume state: the next run continues from BSS's parts.
    if (!(error instanceof BlobAlreadyStored)) throw error;
    outcome = { partsSent: 0, stored: true, receipt: error.receipt };
  }
  await transfer.store.remove();
  return outcome;
}

/**
 * Uploads one file the way a server without batch routes takes it: hash, grant, multipart
 * transfer with resume, register.
 */
export async function uploadFile(
  deps: UploadDeps,
  file: LocalFile,
  target: Target,
  typeOverride?: AssetType,
): Promise<FileResult> {
  const prepared = await prepareFile(deps, file, target, typeOverride);
  const { digest, type, contentType, base } = prepared;

  const requestGrant = async (): Promise<UploadGrant | { exists: true; file: IndexedFile }> =>
    withRetry(
      () =>
        deps.api.initUpload({
          namespace: target.namespace,
          space: target.space,
          filename: file.name,
          hash: digest.sha256,
          contentType,
          type,
          size: file.size,
        }),
      deps.retry,
    );

  let first: UploadGrant | { exists: true; file: IndexedFile };
  let legacy = false;
  try {
    first = await requestGrant();
  } catch (error) {
    if (!isMissingRoute(error) || !deps.bss) throw error;
    deps.events.note(`the server has no /uploads/init: using the unsigned legacy BSS flow at ${deps.bss}`);
    first = legacyGrant(deps.bss, type);
    legacy = true;
  }

  const register = async (receipt?: BlobReceipt): Promise<void> => {
    const entry = { name: file.name, hash: digest.sha256, type, contentType, ...(receipt ? { receipt } : {}) };
    await withRetry(() => deps.api.registerFile(target.namespace, target.space, entry), deps.retry);
  };

  if ('exists' in first && first.exists) {
    await register();
    // An interrupted upload of these bytes is moot now: forget it.
    await new ResumeStore(deps.home, { server: deps.api.server, ...target, hash: digest.sha256 }).remove();
    return { ...base, skipped: true };
  }

  const outcome = await sendMultipart(deps, prepared, target, first as UploadGrant, requestGrant, legacy);
  if (legacy) return { ...base, partsSent: outcome.partsSent, legacy: true };
  await register(outcome.receipt);
  return { ...base, partsSent: outcome.partsSent, skipped: outcome.stored };
}

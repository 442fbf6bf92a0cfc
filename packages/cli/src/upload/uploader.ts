import type { BlobReceipt, IndexedFile, UploadGrant } from '../api.ts';
import { CliError } from '../errors.ts';
import { HashCache } from '../transfer/hash-cache.ts';
import { hashFile } from '../transfer/hash-file.ts';
import { choosePartSize, partCount } from '../transfer/plan.ts';
import { withRetry } from '../transfer/retry.ts';
import { type AssetType, detectContentType, detectType } from '../types.ts';
import { legacyGrant } from './bss.ts';
import { isMissingRoute } from './capabilities.ts';
import { ResumeStore } from './resume-state.ts';
import { BlobAlreadyStored, type GrantSource, Transfer } from './transfer.ts';
import type { FileResult, LocalFile, Prepared, Target, UploadDeps } from './types.ts';

export type { FileResult, LocalFile, Prepared, Target, UploadDeps, UploadEvents } from './types.ts';

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
  const { digest, bytes } =
    file.digest?.partSize === partSize
      ? { digest: file.digest, bytes: undefined }
      : await hashFile(
          cache,
          file.path,
          partSize,
          (n) => deps.events.hashed(file.name, n),
          keepBytes,
          file.mtimeMs === undefined ? undefined : { size: file.size, mtimeMs: file.mtimeMs },
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

/** Grants from the DreamLake server: signed, and renewed by asking it again. */
export function serverGrants(
  deps: UploadDeps,
  first: UploadGrant,
  freshGrant: () => Promise<UploadGrant | { exists: true }>,
): GrantSource {
  return {
    origin: deps.api.server,
    signed: true,
    first,
    async refresh() {
      const next = await freshGrant();
      if ('exists' in next && next.exists) throw new BlobAlreadyStored();
      return next as UploadGrant;
    },
  };
}

/** The unsigned legacy endpoints of a BSS (REQUIRE_PRESIGNED_UPLOADS=false): nothing to renew. */
export function legacyGrants(bss: string, type: AssetType): GrantSource {
  return {
    origin: bss,
    signed: false,
    first: legacyGrant(bss, type),
    refresh: () => Promise.reject(new CliError('the legacy BSS flow has no signatures to refresh')),
  };
}

/**
 * The multipart transfer of a prepared file through its grants (resumed when an earlier run left
 * one). The resume state is gone once this answers.
 */
export async function sendMultipart(
  deps: UploadDeps,
  prepared: Prepared,
  target: Target,
  grants: GrantSource,
): Promise<MultipartOutcome> {
  const { file } = prepared;
  const transfer = new Transfer({ deps, prepared, target, grants });
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
  /** The file already hashed (by a run that learnt only then that the server has no batch routes). */
  hashed?: Prepared,
): Promise<FileResult> {
  const prepared = hashed ?? (await prepareFile(deps, file, target, typeOverride));
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

  let first: UploadGrant | { exists: true; file: IndexedFile } | GrantSource;
  try {
    first = await requestGrant();
  } catch (error) {
    if (!isMissingRoute(error) || !deps.bss) throw error;
    deps.events.note(`the server has no /uploads/init: using the unsigned legacy BSS flow at ${deps.bss}`);
    first = legacyGrants(deps.bss, type);
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

  const grants = 'signed' in first ? first : serverGrants(deps, first as UploadGrant, requestGrant);
  const outcome = await sendMultipart(deps, prepared, target, grants);
  if (!grants.signed) return { ...base, partsSent: outcome.partsSent, legacy: true };
  await register(outcome.receipt);
  return { ...base, partsSent: outcome.partsSent, skipped: outcome.stored };
}

import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DreamLakeError, presignUrl } from '@dreamlake/presign';
import { eachLimited, MAX_PART_SIZE } from '@dreamlake/protocol';
import { bareEtag, parseUploadKey, type UploadKeyParts, uploadKey } from '../keys.ts';
import type { PartPut, PartReceiver } from '../part-receiver.ts';
import type { SingleReceiver, SingleUpload } from '../single-upload.ts';
import type {
  BlobDeletion,
  BlobInfo,
  BlobRef,
  ByteRange,
  CompletedPart,
  CreateUploadInput,
  PartInfo,
  PartUrlOptions,
  Storage,
  UploadFacts,
  UploadRef,
} from '../storage.ts';
import { readBlob, statBlob } from './blobs.ts';
import { completeUpload } from './complete.ts';
import { deleteBlob } from './delete-blob.ts';
import { flushBehind } from './file-flushes.ts';
import { diskFull, isMissing, readJson, writeJsonAtomic } from './files.ts';
import { COMPLETED, FS_UPLOAD_ID, FsLayout, META, partData } from './layout.ts';
import { PartChecks } from './part-checks.ts';
import { PrefixHashes } from './prefix-hash.ts';
import { dropPart, receivePart } from './receive-part.ts';
import { receiveSingle } from './receive-single.ts';
import { type CompletedRecord, readPartRecord, type UploadMeta } from './records.ts';
import { sweepUploads } from './sweep.ts';

export interface FsStorageOptions {
  /** The backend's root folder (BSS uses `<DREAMLAKE_DATA_DIR>/bss`). */
  root: string;
  /** BSS's public base URL, where part URLs point; a function when it is known only after listen. */
  publicUrl: string | (() => string);
  /** Presign secrets; the first signs part URLs. */
  secrets: readonly string[];
  /** Unix seconds now. */
  clock?: () => number;
  /** Told, after each complete's verification, how many bytes it had left to hash (the rest was hashed as parts arrived). */
  onCompleteHashed?: (bytes: number) => void;
  /** Told how many bytes the hashing as parts land read, after each part it read. */
  onPartHashed?: (bytes: number) => void;
  /**
   * Whether each part's flush to the disk starts in the background once it is answered (default
   * true; see file-flushes.ts). Without, its complete flushes it.
   */
  flushBehind?: boolean;
}

const systemClock = () => Math.floor(Date.now() / 1000);

/** Parts whose records (and, after a restart, whole data files) a listing reads at once. */
const PART_LIST_LIMIT = 8;

/** Local disk storage: parts and blobs under one folder, part and single-shot PUTs served by BSS itself. */
export class FsStorage implements Storage, PartReceiver, SingleReceiver {
  readonly kind = 'fs' as const;
  /** CRC-32 costs a fraction of MD5 (docs/protocol.md, "Part PUTs"): BSS checks every byte on its own core. */
  readonly partCheck = 'crc32' as const;
  /** Every single-shot body goes to BSS itself, up to the largest single part. */
  readonly singleReceiveLimit = MAX_PART_SIZE;
  readonly layout: FsLayout;
  private readonly options: FsStorageOptions;
  private readonly clock: () => number;
  /**
   * An upload's meta never changes after it is written, so part URL minting (up to 10,000 per
   * request) remembers a few recent ones instead of re-reading the file for every part. Nothing
   * else relies on it: the part PUT and every other method read the disk.
   */
  private readonly recentMeta = new Map<string, UploadMeta>();
  /** SHA-256 of each upload's leading parts, advanced as parts land, so a complete hashes only the rest. */
  private readonly prefixes: PrefixHashes;
  /** Which parts' bytes this instance trusts without reading them (parts are acknowledged before they are flushed). */
  private readonly checks = new PartChecks();
  /**
   * The complete under way of each upload folder, and the parts it was asked for. A client that
   * retries a slow complete joins the one under way instead of flushing and hashing the same
   * parts alongside it: two fsyncs of one file at once may see a failed writeback reported to one
   * of them only, and the other would publish bytes that are not on the disk.
   */
  private readonly completing = new Map<string, { parts: string; done: Promise<BlobInfo> }>();

  constructor(options: FsStorageOptions) {
    if (options.secrets.length === 0) throw new TypeError('FsStorage: at least one presign secret is required');
    this.options = options;
    this.layout = new FsLayout(options.root);
    this.clock = options.clock ?? systemClock;
    this.prefixes = new PrefixHashes({ onRead: options.onPartHashed });
  }

  /** The folder of an upload named by key and id; throws scope_mismatch when they disagree. */
  private locate(upload: UploadRef): { dir: string; parts: UploadKeyParts } | null {
    const parts = parseUploadKey(upload.key);
    if (!parts || !FS_UPLOAD_ID.test(parts.nonce)) return null;
    if (upload.uploadId !== parts.nonce)
      throw new DreamLakeError('scope_mismatch', 'uploadId does not belong to this key');
    return { dir: this.layout.uploadDir(parts.owner, parts.project, parts.hash, upload.uploadId), parts };
  }

  private async openMeta(upload: UploadRef): Promise<{ dir: string; meta: UploadMeta } | null> {
    const found = this.locate(upload);
    if (!found) return null;
    const meta = await readJson<UploadMeta>(join(found.dir, META));
    return meta ? { dir: found.dir, meta } : null;
  }

  async createUpload(input: CreateUploadInput): Promise<UploadRef> {
    const uploadId = randomBytes(16).toString('hex');
    const dir = this.layout.uploadDir(input.owner, input.project, input.hash, uploadId);
    const meta: UploadMeta = {
      uploadId,
      owner: input.owner,
      project: input.project,
      hash: input.hash,
      contentType: input.contentType,
      ...(input.filename !== undefined ? { filename: input.filename } : {}),
      ...(input.size !== undefined ? { size: input.size } : {}),
      ...(input.user !== undefined ? { user: input.user } : {}),
      createdAt: Date.now(),
    };
    // A sweep may remove an empty parent folder between mkdir and write: try once more.
    for (let attempt = 0; ; attempt += 1) {
      try {
        await mkdir(dir, { recursive: true });
        await writeJsonAtomic(join(dir, META), meta);
        break;
      } catch (error) {
        if (!isMissing(error) || attempt > 0) throw diskFull(error);
      }
    }
    return {
      key: uploadKey({ owner: input.owner, project: input.project, hash: input.hash, nonce: uploadId }),
      uploadId,
    };
  }

  private async metaForUrls(upload: UploadRef): Promise<UploadMeta> {
    const known = this.recentMeta.get(upload.key);
    if (known && known.uploadId === upload.uploadId) return known;
    const open = await this.openMeta(upload);
    if (!open)
      throw new DreamLakeError('not_found', 'the upload is unknown, aborted, completed or swept', {
        reason: 'NoSuchUpload',
      });
    this.recentMeta.set(upload.key, open.meta);
    if (this.recentMeta.size > 256) this.recentMeta.delete(this.recentMeta.keys().next().value as string);
    return open.meta;
  }

  async uploadFacts(upload: UploadRef): Promise<UploadFacts | null> {
    const found = this.locate(upload);
    if (!found) return null;
    // A completed upload keeps what it was bound to in its record, for a retried complete.
    const record =
      (await readJson<UploadMeta>(join(found.dir, META))) ??
      (await readJson<CompletedRecord>(join(found.dir, COMPLETED)));
    if (!record) return null;
    return {
      ...(record.size !== undefined ? { size: record.size } : {}),
      ...(record.user !== undefined ? { user: record.user } : {}),
    };
  }

  async partUrl(upload: UploadRef, partNumber: number, options: PartUrlOptions): Promise<string> {
    const meta = await this.metaForUrls(upload);
    const maxLength = Math.min(
      MAX_PART_SIZE,
      options.contentLength ?? options.maxLength ?? MAX_PART_SIZE,
      meta.size ?? MAX_PART_SIZE,
    );
    const { url } = presignUrl(this.publicBase(), 'upload/part', {
      action: 'upload-part',
      params: {
        owner: meta.owner,
        project: meta.project,
        hash: meta.hash,
        uploadId: meta.uploadId,
        partNumber: String(partNumber),
        maxLength: String(maxLength),
        contentMd5: options.contentMd5 ?? '',
        ...(options.checksumCrc32 ? { checksumCrc32: options.checksumCrc32 } : {}),
      },
      secrets: this.options.secrets,
      now: this.clock(),
      ttlSeconds: options.expiresInSeconds,
    });
    return url;
  }

  async receivePart(put: PartPut, body: Readable): Promise<PartInfo> {
    const part = await receivePart(this.layout, put, body, this.checks.instance);
    const dir = this.layout.uploadDir(put.owner, put.project, put.hash, put.uploadId);
    if (this.options.flushBehind !== false) flushBehind(partData(dir, put.partNumber, bareEtag(part.etag)));
    this.prefixes.landed(dir, put.partNumber);
    return part;
  }

  receiveSingle(upload: SingleUpload, body: Readable): Promise<BlobInfo> {
    return receiveSingle(this.layout, upload, body);
  }

  private publicBase(): string {
    return typeof this.options.publicUrl === 'function' ? this.options.publicUrl() : this.options.publicUrl;
  }

  publicUrlOf(pathAndQuery: string): string {
    return `${this.publicBase().replace(/\/+$/, '')}/${pathAndQuery.replace(/^\/+/, '')}`;
  }

  async listParts(upload: UploadRef): Promise<PartInfo[] | null> {
    const open = await this.openMeta(upload);
    if (!open) return null;
    let names: string[];
    try {
      names = await readdir(join(open.dir, 'parts'));
    } catch (error) {
      if (isMissing(error)) return (await readJson(join(open.dir, META))) ? [] : null;
      throw error;
    }
    const parts: PartInfo[] = [];
    // Parts are read PART_LIST_LIMIT at a time: after a restart each one's whole data file is read.
    await eachLimited(names, PART_LIST_LIMIT, async (name) => {
      if (!/^[1-9][0-9]{0,4}$/.test(name)) return;
      const partNumber = Number(name);
      const record = await readPartRecord(join(open.dir, 'parts', name));
      if (!record) return;
      // A part written before an unclean stop may have lost bytes the page cache held: it is
      // listed only when its bytes match its CRC-32, and dropped otherwise, so it is sent again.
      if (!(await this.checks.verify(open.dir, partNumber, record))) {
        await dropPart(open.dir, partNumber, record);
        return;
      }
      parts.push({ partNumber, etag: `"${record.etag}"`, size: record.size });
    });
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async complete(upload: UploadRef, parts: readonly CompletedPart[]): Promise<BlobInfo> {
    const found = this.locate(upload);
    if (!found)
      throw new DreamLakeError('not_found', 'the upload is unknown, aborted or swept', { reason: 'NoSuchUpload' });
    this.recentMeta.delete(upload.key);
    const asked = JSON.stringify(parts.map((part) => [part.partNumber, bareEtag(part.etag)]));
    // The same parts join the complete under way; other parts wait for it to end, then run.
    for (;;) {
      const running = this.completing.get(found.dir);
      if (!running) break;
      if (running.parts === asked) return running.done;
      await running.done.catch(() => {});
    }
    const entry = { parts: asked, done: this.completeOnce(found.dir, found.parts, parts) };
    this.completing.set(found.dir, entry);
    try {
      return await entry.done;
    } finally {
      if (this.completing.get(found.dir) === entry) this.completing.delete(found.dir);
    }
  }

  private async completeOnce(dir: string, scope: UploadKeyParts, parts: readonly CompletedPart[]): Promise<BlobInfo> {
    try {
      return await completeUpload(
        this.layout,
        dir,
        scope,
        parts,
        this.prefixes,
        this.options.onCompleteHashed,
        this.checks,
      );
    } finally {
      this.prefixes.forget(dir);
      this.checks.forget(dir);
    }
  }

  async abort(upload: UploadRef): Promise<void> {
    const found = this.locate(upload);
    this.recentMeta.delete(upload.key);
    if (!found) return;
    this.prefixes.forget(found.dir);
    this.checks.forget(found.dir);
    // The hashing of parts as they land may still link a file in: retried, not failed.
    await rm(found.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  stat(blob: BlobRef): Promise<BlobInfo | null> {
    return statBlob(this.layout, blob);
  }

  read(blob: BlobRef, range?: ByteRange): Promise<Readable> {
    return readBlob(this.layout, blob, range);
  }

  deleteBlob(blob: BlobRef, publishedBefore: Date): Promise<BlobDeletion> {
    return deleteBlob(this.layout, blob, publishedBefore);
  }

  sweep(olderThan: Date): Promise<number> {
    return sweepUploads(this.layout, olderThan);
  }

  async close(): Promise<void> {}
}

export async function createFsStorage(options: FsStorageOptions): Promise<FsStorage> {
  const storage = new FsStorage(options);
  await mkdir(storage.layout.root, { recursive: true });
  return storage;
}

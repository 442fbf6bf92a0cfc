import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { DreamLakeError } from '@dreamlake/presign';
import { MAX_PART_SIZE, MAX_PARTS } from '@dreamlake/protocol';
import { blobKey, isUploadHash, NAME_PATTERN } from '../keys.ts';
import type { SingleReceiver, SingleStager, SingleUpload, StagedSingle } from '../single-upload.ts';
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
import { S3Activity, type S3Observer } from './activity.ts';
import { headBlob } from './blobs.ts';
import { ByteBudget } from './byte-budget.ts';
import { completeUpload } from './complete.ts';
import type { ResolvedS3StorageOptions } from './config.ts';
import { deleteBlob } from './delete-blob.ts';
import { factsOfKey, isValidBlobRef, multipartScope, newUploadKey } from './keys.ts';
import type { PartUrlSigner } from './part-url-signer.ts';
import { listAllParts } from './parts.ts';
import type { PublishContext } from './publish-staged.ts';
import { receiveSingle } from './receive-single.ts';
import { isObjectMissing, isUploadGone, s3ErrorName, translateS3Error } from './s3-errors.ts';
import { completeSingle, stageSingle } from './single.ts';
import { sweepStale } from './sweep.ts';

const MD5_BASE64 = /^[A-Za-z0-9+/]{22}==$/;
/** SigV4 presigned URLs live at most seven days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

function presignSeconds(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 1) throw new TypeError('expiresInSeconds must be a positive integer');
  return Math.min(seconds, MAX_PRESIGN_SECONDS);
}

/** Runs an S3 call and turns S3's own outages into `storage_unavailable`. */
async function s3<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateS3Error(error);
  }
}

/** What an S3Storage is made of; `createS3Storage` builds them. */
export interface S3StorageParts {
  client: S3Client;
  /**
   * The same bucket through a client that sends each request once (`createS3Storage` makes it);
   * the copies into private keys go through it (see PublishContext). Defaults to `client`.
   */
  copyClient?: S3Client;
  bucket: string;
  options: ResolvedS3StorageOptions;
  partUrls: PartUrlSigner;
  /** Where the client reports S3's failures and retries (`createS3Storage` wires it). */
  activity?: S3Activity;
  /**
   * BSS's public address, for the single-shot answer that sends a body to BSS itself; without
   * it that answer names the URL by its path and query alone (relative to the one asked).
   */
  publicUrl?: string | (() => string);
}

/**
 * The S3 backend: multipart uploads straight to the bucket by SigV4 presigned part URLs, verified
 * by SHA-256 before a blob is published. Every fact lives in the bucket, so any number of BSS
 * processes can serve the same upload. Small single-shot bodies come to BSS itself and are
 * written to their blob key once verified; larger ones are staged in the bucket by a presigned
 * PUT. Build it with `createS3Storage`.
 */
export class S3Storage implements Storage, SingleReceiver, SingleStager {
  readonly kind = 's3' as const;
  /** Every S3-compatible store checks Content-MD5; not all of them check flexible checksums. */
  readonly partCheck = 'md5' as const;
  /** Single-shot bodies up to this size are received by BSS (`memoryReceiveLimit`); larger ones are staged. */
  readonly singleReceiveLimit: number;

  private readonly client: S3Client;
  private readonly copyClient: S3Client;
  private readonly bucket: string;
  private readonly options: ResolvedS3StorageOptions;
  private readonly partUrls: PartUrlSigner;
  /**
   * Staged objects (single-shot, or completed multipart) held in memory while they are verified
   * and published, and the single-shot bodies BSS receives itself.
   */
  private readonly publishBuffers: ByteBudget;
  private readonly activity: S3Activity;
  private readonly publicUrl: string | (() => string) | undefined;

  constructor(parts: S3StorageParts) {
    this.activity = parts.activity ?? new S3Activity();
    this.client = parts.client;
    this.copyClient = parts.copyClient ?? parts.client;
    this.bucket = parts.bucket;
    this.options = parts.options;
    this.partUrls = parts.partUrls;
    this.publishBuffers = new ByteBudget(parts.options.memoryPublishBudget);
    this.singleReceiveLimit = Math.min(parts.options.memoryReceiveLimit, parts.options.memoryPublishLimit);
    this.publicUrl = parts.publicUrl;
  }

  /** Tells `observer` of every failed attempt and retry of a request to S3; answers the function that stops it. */
  watchS3(observer: S3Observer): () => void {
    return this.activity.watch(observer);
  }

  async createUpload(input: CreateUploadInput): Promise<UploadRef> {
    const hash = input.hash.toLowerCase();
    if (!NAME_PATTERN.test(input.owner) || !NAME_PATTERN.test(input.project))
      throw new DreamLakeError('invalid_request', 'invalid owner or project name');
    if (!isUploadHash(hash))
      throw new DreamLakeError('invalid_request', 'hash must be 64 hex digits (or a 16-hex legacy prefix)');
    if (input.user !== undefined && !/^[A-Za-z0-9_-]{22}$/.test(input.user))
      throw new DreamLakeError('invalid_request', 'user must be a user tag');
    const facts: UploadFacts = {
      ...(input.size !== undefined ? { size: input.size } : {}),
      ...(input.user !== undefined ? { user: input.user } : {}),
    };
    const key = newUploadKey({ owner: input.owner, project: input.project, hash }, facts);
    const created = await s3(() =>
      this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: input.contentType }),
      ),
    );
    return { key, uploadId: created.UploadId! };
  }

  async uploadFacts(upload: UploadRef): Promise<UploadFacts | null> {
    return factsOfKey(upload.key);
  }

  async partUrl(upload: UploadRef, partNumber: number, options: PartUrlOptions): Promise<string> {
    if (!multipartScope(upload.key)) throw new DreamLakeError('scope_mismatch', 'key is not a multipart upload key');
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
      throw new DreamLakeError('invalid_request', `part number must be an integer in 1..${MAX_PARTS}`);
    }
    if (options.contentMd5 !== undefined && !MD5_BASE64.test(options.contentMd5)) {
      throw new DreamLakeError('invalid_request', 'contentMd5 must be the base64 of a 16-byte MD5 digest');
    }
    if (
      options.contentLength !== undefined &&
      (!Number.isSafeInteger(options.contentLength) ||
        options.contentLength < 0 ||
        options.contentLength > MAX_PART_SIZE)
    ) {
      throw new DreamLakeError('invalid_request', `contentLength must be a byte count up to ${MAX_PART_SIZE}`);
    }
    const { maxLength, contentLength } = options;
    if (maxLength !== undefined) {
      // A presigned URL cannot sign an upper bound, only one exact length: without it the store
      // would take up to 5 GiB for any upload, whatever its size.
      if (contentLength === undefined) {
        throw new DreamLakeError(
          'invalid_request',
          `declare part ${partNumber}'s length (contentLength): this store binds a part URL to one exact length`,
        );
      }
      if (contentLength > maxLength) {
        throw new DreamLakeError('too_large', `part ${partNumber} may be at most ${maxLength} bytes`, { maxLength });
      }
    }
    // Content-MD5 and Content-Length become signed headers: S3 refuses any other body.
    return this.partUrls.sign({
      key: upload.key,
      uploadId: upload.uploadId,
      partNumber,
      expiresInSeconds: presignSeconds(options.expiresInSeconds),
      contentMd5: options.contentMd5,
      contentLength: options.contentLength,
    });
  }

  async listParts(upload: UploadRef): Promise<PartInfo[] | null> {
    if (!multipartScope(upload.key)) return null;
    return s3(() => listAllParts(this.client, this.bucket, upload.key, upload.uploadId));
  }

  async complete(upload: UploadRef, parts: readonly CompletedPart[]): Promise<BlobInfo> {
    return s3(() => completeUpload(this.publishContext(), upload, parts));
  }

  async stageSingle(upload: SingleUpload, expiresInSeconds: number): Promise<StagedSingle> {
    if (!isValidBlobRef(upload)) throw new DreamLakeError('invalid_request', 'invalid owner, project or hash');
    if (!Number.isSafeInteger(upload.size) || upload.size < 0)
      throw new DreamLakeError('invalid_request', 'size must be a byte count');
    if (upload.size > MAX_PART_SIZE)
      throw new DreamLakeError('too_large', `a single-shot upload may be at most ${MAX_PART_SIZE} bytes`, {
        maxSize: MAX_PART_SIZE,
      });
    return stageSingle(this.partUrls, upload, presignSeconds(expiresInSeconds));
  }

  async completeSingle(upload: Omit<SingleUpload, 'contentType'>, key: string): Promise<BlobInfo> {
    return s3(() => completeSingle(this.publishContext(), upload, key));
  }

  async receiveSingle(upload: SingleUpload, body: Readable): Promise<BlobInfo> {
    if (!isValidBlobRef(upload)) throw new DreamLakeError('invalid_request', 'invalid owner, project or hash');
    if (!Number.isSafeInteger(upload.size) || upload.size < 0)
      throw new DreamLakeError('invalid_request', 'size must be a byte count');
    if (upload.size > this.singleReceiveLimit) {
      throw new DreamLakeError(
        'too_large',
        `BSS takes single-shot bodies of at most ${this.singleReceiveLimit} bytes itself; POST the single URL to learn where to send this one`,
        { maxSize: this.singleReceiveLimit },
      );
    }
    return s3(() => receiveSingle(this.publishContext(), upload, body));
  }

  publicUrlOf(pathAndQuery: string): string {
    const path = `/${pathAndQuery.replace(/^\/+/, '')}`;
    const base = typeof this.publicUrl === 'function' ? this.publicUrl() : this.publicUrl;
    return base === undefined ? path : `${base.replace(/\/+$/, '')}${path}`;
  }

  private publishContext(): PublishContext {
    return {
      client: this.client,
      copyClient: this.copyClient,
      bucket: this.bucket,
      options: this.options,
      buffers: this.publishBuffers,
    };
  }

  async abort(upload: UploadRef): Promise<void> {
    if (!multipartScope(upload.key)) return;
    await s3(async () => {
      try {
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.key, UploadId: upload.uploadId }),
        );
      } catch (error) {
        if (!isUploadGone(error)) throw error;
      }
    });
  }

  async stat(blob: BlobRef): Promise<BlobInfo | null> {
    if (!isValidBlobRef(blob)) return null;
    return s3(() => headBlob(this.client, this.bucket, blob));
  }

  async read(blob: BlobRef, range?: ByteRange): Promise<Readable> {
    if (!isValidBlobRef(blob)) throw new DreamLakeError('not_found', 'blob not found');
    if (
      range &&
      (!Number.isInteger(range.start) || !Number.isInteger(range.end) || range.start < 0 || range.end < range.start)
    ) {
      throw new DreamLakeError('invalid_request', 'invalid byte range');
    }
    return s3(async () => {
      try {
        const object = await this.client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: blobKey(blob),
            Range: range ? `bytes=${range.start}-${range.end}` : undefined,
          }),
        );
        return object.Body as Readable;
      } catch (error) {
        if (isObjectMissing(error)) throw new DreamLakeError('not_found', 'blob not found');
        if (s3ErrorName(error) === 'InvalidRange') throw new DreamLakeError('invalid_request', 'range not satisfiable');
        throw error;
      }
    });
  }

  /**
   * A presigned GET of the verified blob, for a 302 from the download route: the bytes then go
   * from S3 to the client directly. A `Range` header on that GET is honoured by S3.
   */
  async downloadUrl(blob: BlobRef, expiresInSeconds: number): Promise<string> {
    if (!isValidBlobRef(blob)) throw new DreamLakeError('not_found', 'blob not found');
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: blobKey(blob),
      ResponseContentDisposition: 'attachment',
    });
    return getSignedUrl(this.client, command, { expiresIn: presignSeconds(expiresInSeconds) });
  }

  async deleteBlob(blob: BlobRef, publishedBefore: Date): Promise<BlobDeletion> {
    if (!isValidBlobRef(blob)) return 'absent';
    return s3(() => deleteBlob(this.client, this.bucket, blob, publishedBefore));
  }

  async sweep(olderThan: Date): Promise<number> {
    return s3(() => sweepStale(this.client, this.bucket, olderThan));
  }

  async close(): Promise<void> {
    this.client.destroy();
    if (this.copyClient !== this.client) this.copyClient.destroy();
  }
}

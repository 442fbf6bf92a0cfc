import {
  type MultipartInitAnswer,
  multipartPath,
  type PartsDoneAnswer,
  type PartUrlsAnswer,
  type PartUrlsRequest,
  UPLOAD_STEPS,
} from '@dreamlake/protocol';
import type { Dispatcher } from 'undici';
import type { UploadGrant } from '../api.ts';
import { ApiError } from '../errors.ts';
import { requestJson } from '../http.ts';
import type { StoredBlob } from './single.ts';

/** A part BSS holds (the protocol's wire type). */
export type { PartDone } from '@dreamlake/protocol';

/** A signature that has run out: ours say `expired_signature`; S3 says so in its own words. */
export function isExpired(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.status !== 403) return false;
  if (error.code === 'expired_signature' || error.code === 'ExpiredToken' || error.code === 'RequestExpired')
    return true;
  return error.code === 'AccessDenied' && /expire/i.test(error.message);
}

export function withQuery(url: string, extra: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
  return u.toString();
}

export class BssClient {
  readonly #dispatcher: Dispatcher;

  constructor(dispatcher: Dispatcher) {
    this.#dispatcher = dispatcher;
  }

  /** Opens an upload; `exists` (with a receipt) when BSS already holds the verified blob. */
  init(grant: UploadGrant, body: Record<string, unknown>): Promise<MultipartInitAnswer> {
    return requestJson(this.#dispatcher, 'POST', grant.initUrl, { body });
  }

  /** Signed URLs for some parts, each bound to the check and length the request names. */
  partUrls(grant: UploadGrant, request: PartUrlsRequest): Promise<PartUrlsAnswer> {
    return requestJson(this.#dispatcher, 'POST', grant.partsUrl, { body: request });
  }

  partsDone(grant: UploadGrant, upload: { uploadId: string; key: string }): Promise<PartsDoneAnswer> {
    return requestJson(this.#dispatcher, 'GET', withQuery(grant.partsDoneUrl, upload));
  }

  complete(
    grant: UploadGrant,
    upload: { uploadId: string; key: string },
    parts: Array<{ partNumber: number; etag: string }>,
  ): Promise<StoredBlob> {
    return requestJson(this.#dispatcher, 'POST', grant.completeUrl, { body: { ...upload, parts } });
  }
}

/** The unsigned legacy endpoints of a BSS that still serves them (REQUIRE_PRESIGNED_UPLOADS=false). */
export function legacyGrant(bss: string, type: string): UploadGrant {
  const urls = {} as UploadGrant;
  for (const { field, step } of UPLOAD_STEPS) urls[field] = `${bss}/${multipartPath(type, step)}`;
  return urls;
}

import { ProtocolError, requestJson, withQuery } from './http.ts';
import type { BatchGrant, InitResult, OpenUpload, PartDone, SingleBegin, StoredBlob, UploadGrant } from './types.ts';

/**
 * BSS's steps, reached only through the signed URLs of a grant (no token ever goes to BSS). The
 * bodies of parts and single-shot uploads are sent by the caller (the page with XMLHttpRequest for
 * progress, Node with fetch); these are the JSON steps around them.
 */
export const bss = {
  /** Opens an upload; `exists` (with a receipt) when BSS already holds the verified blob. */
  init(grant: UploadGrant, body: { contentType: string; filename?: string; size?: number }, signal?: AbortSignal) {
    return requestJson<InitResult>('POST', grant.initUrl, { body, signal });
  },

  /** Signed part URLs; `contentLength` pins each part's exact length. */
  partUrls(
    grant: UploadGrant,
    upload: OpenUpload,
    partNumbers: number[],
    contentLength?: Record<string, number>,
    signal?: AbortSignal,
  ) {
    return requestJson<{ parts: Record<string, string>; expiresAt?: string }>('POST', grant.partsUrl, {
      body: { ...upload, partNumbers, ...(contentLength ? { contentLength } : {}) },
      signal,
    });
  },

  /** The parts BSS holds; `expired` when the upload is unknown, aborted or swept. */
  partsDone(grant: UploadGrant, upload: OpenUpload, signal?: AbortSignal) {
    return requestJson<{ parts: PartDone[]; expired: boolean }>(
      'GET',
      withQuery(grant.partsDoneUrl, { uploadId: upload.uploadId, key: upload.key }),
      { signal },
    );
  },

  complete(
    grant: UploadGrant,
    upload: OpenUpload,
    parts: Array<{ partNumber: number; etag: string }>,
    signal?: AbortSignal,
  ) {
    return requestJson<StoredBlob>('POST', grant.completeUrl, { body: { ...upload, parts }, signal });
  },

  abort(grant: UploadGrant, upload: OpenUpload, signal?: AbortSignal) {
    return requestJson<{ success: boolean }>('POST', grant.abortUrl, { body: upload, signal });
  },

  /** Asks how a single-shot body goes: to the single URL itself (disk) or to S3 first. */
  async singleBegin(grant: BatchGrant, contentType: string, signal?: AbortSignal): Promise<SingleBegin> {
    if (!grant.singleUrl) throw new ProtocolError(0, 'invalid_request', 'this grant has no single-shot URL');
    const begin = await requestJson<SingleBegin>('POST', grant.singleUrl, { body: { contentType }, signal });
    const known =
      begin?.mode === 'put' || (begin?.mode === 's3' && typeof begin.url === 'string' && typeof begin.key === 'string');
    if (!known) throw new ProtocolError(0, 'invalid_answer', 'BSS answered a single-shot upload in an unknown way');
    return begin;
  },

  /** After an S3 single-shot PUT: BSS checks the staged object and publishes it. */
  singleComplete(grant: BatchGrant, key: string, signal?: AbortSignal) {
    if (!grant.singleUrl) throw new ProtocolError(0, 'invalid_request', 'this grant has no single-shot URL');
    const url = new URL(grant.singleUrl);
    url.pathname = `${url.pathname.replace(/\/$/, '')}/complete`;
    return requestJson<StoredBlob>('POST', url.toString(), { body: { key }, signal });
  },

  /** The answer of a single-shot PUT to BSS (disk), parsed; an empty answer (S3's PUT) is undefined. */
  parseStored(text: string): StoredBlob | undefined {
    if (text.trim() === '') return undefined;
    return JSON.parse(text) as StoredBlob;
  },
};

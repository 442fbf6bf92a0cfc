import type {
  MultipartInitAnswer,
  OpenUpload,
  PartsDoneAnswer,
  PartUrlsAnswer,
  PartUrlsRequest,
  SingleBegin,
  StoredBlob,
  UploadGrant,
} from '../wire.ts';
import { type CallOptions, requestJson, type Transport, withQuery } from './transport.ts';

/**
 * What `init` sends: the blob's media type, and its name and size when known. The unsigned legacy
 * endpoints (a BSS with REQUIRE_PRESIGNED_UPLOADS=false) take owner, project and hash in the body.
 */
export interface MultipartInitBody {
  contentType: string;
  filename?: string;
  size?: number;
  owner?: string;
  project?: string;
  hash?: string;
}

/**
 * BSS's JSON steps, reached only through the signed URLs of a grant (no token ever goes to BSS).
 * The bodies of parts and single-shot uploads, and downloads, are bytes each client sends its own
 * way (the page with XMLHttpRequest for progress, the CLI streaming from disk); these are the
 * requests around them.
 */
export class BssApi {
  readonly #via: Transport;

  constructor(via: Transport) {
    this.#via = via;
  }

  /** Opens an upload; `exists` (with a receipt) when BSS already holds the verified blob. */
  init(grant: UploadGrant, body: MultipartInitBody, call?: CallOptions): Promise<MultipartInitAnswer> {
    return requestJson(this.#via, 'POST', grant.initUrl, { ...call, body });
  }

  /** Signed URLs for some parts, each bound to the check and length the request names. */
  partUrls(grant: UploadGrant, request: PartUrlsRequest, call?: CallOptions): Promise<PartUrlsAnswer> {
    return requestJson(this.#via, 'POST', grant.partsUrl, { ...call, body: request });
  }

  /** The parts BSS holds; `expired` when the upload is unknown, aborted or swept. */
  partsDone(grant: UploadGrant, upload: OpenUpload, call?: CallOptions): Promise<PartsDoneAnswer> {
    const url = withQuery(grant.partsDoneUrl, { uploadId: upload.uploadId, key: upload.key });
    return requestJson(this.#via, 'GET', url, call);
  }

  complete(
    grant: UploadGrant,
    upload: OpenUpload,
    parts: Array<{ partNumber: number; etag: string }>,
    call?: CallOptions,
  ): Promise<StoredBlob> {
    const body = { uploadId: upload.uploadId, key: upload.key, parts };
    return requestJson(this.#via, 'POST', grant.completeUrl, { ...call, body });
  }

  abort(grant: UploadGrant, upload: OpenUpload, call?: CallOptions): Promise<{ success: boolean }> {
    const body = { uploadId: upload.uploadId, key: upload.key };
    return requestJson(this.#via, 'POST', grant.abortUrl, { ...call, body });
  }

  /** Asks how a single-shot body goes: to the single URL itself (disk) or to S3 first. */
  async singleBegin(singleUrl: string, contentType: string, call?: CallOptions): Promise<SingleBegin> {
    const begin = await requestJson<SingleBegin>(this.#via, 'POST', singleUrl, { ...call, body: { contentType } });
    const known =
      begin?.mode === 'put' || (begin?.mode === 's3' && typeof begin.url === 'string' && typeof begin.key === 'string');
    if (!known) throw this.#via.errors.invalid(singleUrl, 'a single-shot upload in a way this client does not know');
    return begin;
  }

  /** After an S3 single-shot PUT: BSS checks the staged object and publishes it. */
  singleComplete(singleUrl: string, key: string, call?: CallOptions): Promise<StoredBlob> {
    const url = new URL(singleUrl);
    url.pathname = `${url.pathname.replace(/\/$/, '')}/complete`;
    return requestJson(this.#via, 'POST', url.toString(), { ...call, body: { key } });
  }
}

/**
 * The answer to a single-shot body: BSS's (disk) is the stored blob; S3's PUT answers nothing,
 * which is `undefined` here. Throws a SyntaxError for an answer that is not JSON.
 */
export function parseStored(text: string): StoredBlob | undefined {
  if (text.trim() === '') return undefined;
  return JSON.parse(text) as StoredBlob;
}

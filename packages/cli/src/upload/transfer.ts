import { CRC32_HEADER, type PartCheck, type PartRange } from '@dreamlake/protocol';
import {
  type GrantSource as EngineGrants,
  type MultipartInitBody,
  type MultipartState,
  MultipartUpload,
  type PartIO,
} from '@dreamlake/protocol/client';
import type { BlobReceipt } from '../api.ts';
import { limited } from '../bwlimit.ts';
import { cliErrors, countedBody, putBody } from '../http.ts';
import { partMd5 } from '../transfer/digest.ts';
import { withRetry } from '../transfer/retry.ts';
import { CliBssApi } from './bss.ts';
import { type ResumeState, ResumeStore } from './resume-state.ts';
import type { Prepared, Target, UploadDeps } from './types.ts';

export { BlobAlreadyStored } from '@dreamlake/protocol/client';

/**
 * Where a transfer's BSS URLs come from: the DreamLake server's signed grants, or the unsigned
 * endpoints of a legacy BSS. The transfer itself does not tell them apart beyond `signed`.
 */
export interface GrantSource extends EngineGrants {
  /** Whose uploads these are, for the resume state: the server, or the legacy BSS. */
  readonly origin: string;
}

export interface TransferOptions {
  deps: UploadDeps;
  prepared: Prepared;
  target: Target;
  grants: GrantSource;
}

export interface TransferResult {
  /** Parts this run sent. */
  sent: number;
  receipt: BlobReceipt | undefined;
}

/**
 * The multipart transfer of one file from disk: the protocol's engine (resume, URL batches and
 * their renewal, the part pool, complete) on the CLI's connection pool, with the part CRC-32s
 * computed while hashing, the resume state in a file, retries with backoff and the run's budget.
 */
export class Transfer {
  readonly store: ResumeStore;
  readonly #upload: MultipartUpload;

  constructor(options: TransferOptions) {
    const { deps, prepared, target, grants } = options;
    const { file, digest, type, contentType } = prepared;
    this.store = new ResumeStore(deps.home, { server: grants.origin, ...target, hash: digest.sha256 });
    const store = this.store;
    const scope = { server: grants.origin, ...target, hash: digest.sha256, type };
    const init: MultipartInitBody = grants.signed
      ? { contentType, filename: file.name, size: file.size }
      : { owner: target.namespace, project: target.space, hash: digest.sha256, contentType };
    const budget = deps.budget;

    const io: PartIO = {
      knownCheck: (check: PartCheck, part: PartRange) =>
        check === 'crc32' ? digest.partCrc32[part.partNumber - 1] : undefined,
      computeCheck: async (check: PartCheck, part: PartRange) =>
        check === 'md5' ? partMd5(file.path, part) : (digest.partCrc32[part.partNumber - 1] ?? ''),
      put: async (url, part, headers) => {
        let counted = 0;
        const body = countedBody(file.path, part, (bytes) => {
          counted += bytes;
          deps.events.sent(file.name, bytes);
        });
        try {
          const md5 = headers['content-md5'];
          return await putBody(deps.dispatcher, url, {
            body: limited(deps.limiter, body.chunks),
            length: part.end - part.start,
            ...(md5 ? { contentMd5: md5 } : { headers: { [CRC32_HEADER]: headers[CRC32_HEADER] ?? '' } }),
          });
        } catch (error) {
          deps.events.sent(file.name, -counted);
          throw error;
        } finally {
          body.close();
        }
      },
    };

    this.#upload = new MultipartUpload({
      bss: new CliBssApi(deps.dispatcher),
      errors: cliErrors,
      grants,
      size: file.size,
      partSize: digest.partSize,
      init,
      io,
      concurrency: deps.concurrency,
      retry: (task) => withRetry(task, deps.retry),
      ...(budget ? { gate: (bytes, task) => budget.run(bytes, task) } : {}),
      store: {
        load: async () => {
          const saved = await store.load();
          return saved && saved.type === type ? saved : undefined;
        },
        save: (state: MultipartState) => store.save({ ...scope, ...state, updatedAt: '' } as ResumeState),
        remove: () => store.remove(),
      },
      events: {
        note: (message) => deps.events.note(message),
        opened: (done) => {
          deps.events.phase(file.name, 'uploading');
          for (const part of done) deps.events.resumed(file.name, part.end - part.start);
        },
        finishing: () => deps.events.phase(file.name, 'finishing'),
      },
    });
  }

  /** Runs the transfer; answers how many parts this run sent and BSS's receipt for the blob. */
  async run(): Promise<TransferResult> {
    const { sent, receipt } = await this.#upload.run();
    return { sent, receipt };
  }
}

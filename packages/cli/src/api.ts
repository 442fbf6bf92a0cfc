import { ServerApi as ProtocolServerApi } from '@dreamlake/protocol/client';
import type { Dispatcher } from 'undici';
import { ApiError, CliError } from './errors.ts';
import { cliTransport } from './http.ts';

/** The wire types this client speaks (requests and answers) are the protocol's. */
export type {
  BatchGrant,
  BatchGrantEntry,
  BatchGrantFile,
  BlobReceipt,
  CommitAnswer,
  CommitChanges,
  CommitRequest,
  DiffEntry,
  DownloadBatchEntry,
  DownloadGrant,
  ErrorAnswer,
  IndexedFile,
  InitAnswer,
  InitRequest,
  LookupState,
  Me,
  RegisterEntry,
  RegisterRequest,
  SnapshotReceipt,
  SnapshotView,
  UploadGrant,
} from '@dreamlake/protocol';
export type { DiffPage, SignedSnapshot, SnapshotPage } from '@dreamlake/protocol/client';

/**
 * The DreamLake server's API: the protocol client's, on the run's connection pool, failing the
 * CLI's way. A request without a token says how to get one before it goes; a 401 says to log in
 * again.
 */
export class ServerApi extends ProtocolServerApi {
  constructor(server: string, dispatcher: Dispatcher, token: string | undefined) {
    super(server, cliTransport(dispatcher), {
      token: () => token,
      noToken: () => new CliError(`not logged in to ${server}: run \`dreamlake login\` (or set DREAMLAKE_TOKEN)`),
      unauthorized: (error) =>
        error instanceof ApiError
          ? new ApiError(401, error.wireCode, `${error.message}; log in again with \`dreamlake login\``)
          : error,
    });
  }

  /** The server's base URL (no trailing slash). */
  get server(): string {
    return this.base;
  }
}

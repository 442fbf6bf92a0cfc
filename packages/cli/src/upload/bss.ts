import { multipartPath, UPLOAD_STEPS } from '@dreamlake/protocol';
import { BssApi } from '@dreamlake/protocol/client';
import type { Dispatcher } from 'undici';
import type { UploadGrant } from '../api.ts';
import { cliTransport } from '../http.ts';

/** A part BSS holds (the protocol's wire type). */
export type { PartDone } from '@dreamlake/protocol';
export { isExpired, withQuery } from '@dreamlake/protocol/client';

/** BSS's JSON steps (the protocol client's) on the run's connection pool, failing the CLI's way. */
export class CliBssApi extends BssApi {
  constructor(dispatcher: Dispatcher) {
    super(cliTransport(dispatcher));
  }
}

/** The unsigned legacy endpoints of a BSS that still serves them (REQUIRE_PRESIGNED_UPLOADS=false). */
export function legacyGrant(bss: string, type: string): UploadGrant {
  const urls = {} as UploadGrant;
  for (const { field, step } of UPLOAD_STEPS) urls[field] = `${bss}/${multipartPath(type, step)}`;
  return urls;
}

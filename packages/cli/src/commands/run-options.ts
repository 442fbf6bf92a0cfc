import { DEFAULT_BYTES_IN_FLIGHT, DEFAULT_REQUESTS, type UploadRunOptions } from '../client.ts';
import type { Settings } from '../config.ts';
import { retryTold } from './retry-told.ts';

/** The server, credentials and limits of an upload or sync run; retries told through `note`. */
export function uploadRunBase(
  settings: Settings,
  token: string,
  concurrency: number,
  note: (line: string) => void,
): Pick<
  UploadRunOptions,
  'server' | 'token' | 'home' | 'bss' | 'concurrency' | 'requests' | 'bytesInFlight' | 'retry'
> {
  return {
    server: settings.server,
    token,
    home: settings.home,
    bss: settings.bss,
    concurrency,
    requests: DEFAULT_REQUESTS,
    bytesInFlight: DEFAULT_BYTES_IN_FLIGHT,
    retry: retryTold(note),
  };
}

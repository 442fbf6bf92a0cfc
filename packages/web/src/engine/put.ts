/// <reference lib="dom" />
import { ProtocolError, protocolErrors, readFailure } from '../protocol/index.ts';

export interface PutAnswer {
  etag: string | null;
  text: string;
}

/**
 * PUTs a body with XMLHttpRequest (fetch has no upload progress): `onProgress` gets the bytes sent
 * so far. A non-2xx answer is the service's error; no answer at all is a `network` ProtocolError.
 */
export function putBody(
  url: string,
  body: Blob,
  headers: Record<string, string>,
  onProgress: (sent: number) => void,
  signal: AbortSignal,
): Promise<PutAnswer> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    const onAbort = (): void => xhr.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (): void => signal.removeEventListener('abort', onAbort);
    xhr.onload = () => {
      done();
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve({ etag: xhr.getResponseHeader('etag'), text: xhr.responseText });
      } else {
        reject(protocolErrors.answer(readFailure(xhr.status, xhr.responseText, xhr.getResponseHeader('retry-after'))));
      }
    };
    xhr.onerror = () => {
      done();
      reject(new ProtocolError(0, 'network', `${new URL(url).origin} did not answer the upload`));
    };
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => {
      done();
      reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
    };
    xhr.send(body);
  });
}

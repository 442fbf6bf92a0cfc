/// <reference lib="dom" />
import { crc32Base64, type PartCheck } from '@dreamlake/protocol';
import { crc32, md5 } from 'hash-wasm';
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

function hexToBase64(hex: string): string {
  let binary = '';
  for (let i = 0; i < hex.length; i += 2) binary += String.fromCharCode(Number.parseInt(hex.slice(i, i + 2), 16));
  return btoa(binary);
}

/**
 * A part's check as BSS binds its URL to it, base64: the CRC-32 (ISO-HDLC, as zlib and S3 compute
 * it) or the MD5 of the bytes, by hash-wasm's WebAssembly: cheap beside sending the part
 * (docs/web.md, "Limits and measured speed").
 */
export async function partCheck(check: PartCheck, bytes: Blob): Promise<string> {
  const data = new Uint8Array(await bytes.arrayBuffer());
  if (check === 'md5') return hexToBase64(await md5(data));
  return crc32Base64(Number.parseInt(await crc32(data), 16));
}

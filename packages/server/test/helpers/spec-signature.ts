import { createHmac } from 'node:crypto';

/**
 * The canonical string and signature of docs/protocol.md ("Signed URLs"), written out
 * independently of the library.
 */
export function specSignature(secret: string, action: string, params: Record<string, string>, exp: number): string {
  const enc = (v: string) =>
    [...Buffer.from(v, 'utf8')]
      .map((b) =>
        /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) && b < 0x80
          ? String.fromCharCode(b)
          : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
      )
      .join('');
  const pairs = Object.keys(params)
    .sort()
    .map((k) => `${enc(k)}=${enc(params[k]!)}`);
  return createHmac('sha256', secret)
    .update(`${action}:${pairs.join('&')}:${exp}`)
    .digest('hex');
}

/** Checks a signed URL: its signature is the protocol's over exactly `params`, and answers its exp. */
export function readSignedUrl(url: string): {
  path: string;
  origin: string;
  params: Record<string, string>;
  exp: number;
  sig: string;
} {
  const u = new URL(url);
  const params: Record<string, string> = {};
  for (const [k, v] of u.searchParams) if (k !== 'exp' && k !== 'sig') params[k] = v;
  return {
    path: u.pathname,
    origin: u.origin,
    params,
    exp: Number(u.searchParams.get('exp')),
    sig: u.searchParams.get('sig') ?? '',
  };
}

import { createHmac } from 'node:crypto';
import { canonicalString, type SignedParams } from './canonical.ts';

/** Seven days: the longest lifetime a signed URL may have. */
export const MAX_LIFETIME_SECONDS = 7 * 24 * 3600;

export function signCanonical(secret: string, canonical: string): string {
  return createHmac('sha256', secret).update(canonical, 'utf8').digest('hex');
}

export function sign(secret: string, action: string, params: SignedParams, exp: number): string {
  return signCanonical(secret, canonicalString(action, params, exp));
}

export interface PresignOptions {
  action: string;
  params: SignedParams;
  /** Active secrets; the first one signs. */
  secrets: readonly string[];
  /** Unix seconds now. */
  now: number;
  ttlSeconds: number;
}

export interface Presigned {
  /** The signed params plus `exp` and `sig`, ready to put in a query string. */
  query: Record<string, string>;
  exp: number;
}

export function presign(options: PresignOptions): Presigned {
  const secret = options.secrets[0];
  if (!secret) throw new TypeError('presign: at least one secret is required');
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds <= 0 || options.ttlSeconds > MAX_LIFETIME_SECONDS) {
    throw new TypeError(`presign: ttlSeconds must be an integer in 1..${MAX_LIFETIME_SECONDS}`);
  }
  const exp = Math.floor(options.now) + options.ttlSeconds;
  const sig = sign(secret, options.action, options.params, exp);
  return { query: { ...options.params, exp: String(exp), sig }, exp };
}

/**
 * A full URL: `base` + `path` with the signed params, `exp`, `sig` and any unsigned `extra`
 * params in its query string.
 */
export function presignUrl(
  base: string,
  path: string,
  options: PresignOptions & { extra?: Record<string, string> },
): { url: string; exp: number } {
  const { query, exp } = presign(options);
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  for (const [key, value] of Object.entries({ ...options.extra, ...query })) url.searchParams.set(key, value);
  return { url: url.toString(), exp };
}

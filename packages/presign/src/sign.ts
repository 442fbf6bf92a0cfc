import { createHmac } from 'node:crypto';
import { canonicalParams, canonicalString, type SignedParams } from './canonical.ts';

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

/** The signing secret and `exp` of checked options. */
function secretAndExp(options: Omit<PresignOptions, 'action'>): { secret: string; exp: number } {
  const secret = options.secrets[0];
  if (!secret) throw new TypeError('presign: at least one secret is required');
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds <= 0 || options.ttlSeconds > MAX_LIFETIME_SECONDS) {
    throw new TypeError(`presign: ttlSeconds must be an integer in 1..${MAX_LIFETIME_SECONDS}`);
  }
  return { secret, exp: Math.floor(options.now) + options.ttlSeconds };
}

/** The checked options' `exp` and signature. */
function signOptions(options: PresignOptions): { exp: number; sig: string } {
  const { secret, exp } = secretAndExp(options);
  return { exp, sig: sign(secret, options.action, options.params, exp) };
}

export function presign(options: PresignOptions): Presigned {
  const { exp, sig } = signOptions(options);
  return { query: { ...options.params, exp: String(exp), sig }, exp };
}

/** Each base as WHATWG URL writes it, with a final `/`: parsed once, not per URL signed. */
const bases = new Map<string, string>();
/** A relative path of unreserved characters and no dot segment: appending it is resolving it. */
const PLAIN_PATH = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9\-_.~/]*$/;

function resolve(base: string, path: string): string {
  let href = bases.get(base);
  if (href === undefined) {
    href = new URL(base.endsWith('/') ? base : `${base}/`).href;
    if (bases.size < 16) bases.set(base, href);
  }
  return PLAIN_PATH.test(path) ? `${href}${path}` : new URL(path, href).href;
}

/**
 * A full URL: `base` + `path` (resolved as WHATWG URL does; the path carries no query) with any
 * unsigned `extra` params, the signed params, `exp` and `sig` in its query string, each written
 * as encodeURIComponent does. The one builder of signed URLs: it makes no URL object per call, so
 * a grant of many URLs costs their HMACs and little more.
 */
export function presignUrl(
  base: string,
  path: string,
  options: PresignOptions & { extra?: Record<string, string> },
): { url: string; exp: number } {
  const { exp, sig } = signOptions(options);
  // No query object is made for the usual call (no extras): the params are written as they come.
  const params = options.extra ? { ...options.extra, ...options.params } : options.params;
  return { url: `${resolve(base, path)}?${queryOf(params)}exp=${exp}&sig=${sig}`, exp };
}

/** The params of a URL's query, each `key=value&` as encodeURIComponent writes them (`exp` and `sig` left out). */
function queryOf(params: Readonly<Record<string, string>>): string {
  let search = '';
  for (const key in params) {
    if (key === 'exp' || key === 'sig') continue;
    search += `${encodeURIComponent(key)}=${encodeURIComponent(params[key] as string)}&`;
  }
  return search;
}

/**
 * presignUrl for several paths and actions over the same params and moment (the URLs of one
 * upload grant): each URL is the one presignUrl answers for its path and action, while the
 * params' canonical text and query string are written once for them all.
 */
export function presignUrls(
  base: string,
  targets: readonly { path: string; action: string }[],
  options: Omit<PresignOptions, 'action'>,
): { urls: string[]; exp: number } {
  const { secret, exp } = secretAndExp(options);
  const signed = `:${canonicalParams(options.params)}:${exp}`;
  const query = `${queryOf(options.params)}exp=${exp}&sig=`;
  const urls = targets.map(
    ({ path, action }) => `${resolve(base, path)}?${query}${signCanonical(secret, `${action}${signed}`)}`,
  );
  return { urls, exp };
}

import { timingSafeEqual } from 'node:crypto';
import { canonicalString } from './canonical.ts';
import { DreamLakeError } from './errors.ts';
import { MAX_LIFETIME_SECONDS, signCanonical } from './sign.ts';

/** A query as HTTP frameworks hand it over: a repeated key becomes an array. */
export type RawQuery = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyOptions {
  action: string;
  /** Names of the query params the signature covers. */
  signed: readonly string[];
  /**
   * Params the signature covers when the query carries them (a URL minted without them stays
   * valid). Removing one from a URL signed with it, or adding one, breaks the signature.
   */
  optional?: readonly string[];
  query: RawQuery;
  /** Active secrets; any may have signed. */
  secrets: readonly string[];
  /** Unix seconds now. */
  now: number;
  maxLifetimeSeconds?: number;
  /**
   * Seconds the verifier's clock may be off from the signer's, either way (default 0): a URL is
   * taken this long past its `exp`, and its lifetime may exceed `maxLifetimeSeconds` by as much.
   */
  clockSkewSeconds?: number;
}

export interface VerifiedScope {
  action: string;
  params: Record<string, string>;
  exp: number;
}

const SIG = /^[0-9a-f]{64}$/;
const EXP = /^[0-9]{1,12}$/;

function single(query: RawQuery, key: string): string | undefined {
  const value = query[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new DreamLakeError('malformed_signature', `query parameter "${key}" is repeated`);
  return value;
}

/** Whether the query carries any part of a signature (`sig` or `exp`). */
export function hasSignature(query: RawQuery): boolean {
  return query.sig !== undefined || query.exp !== undefined;
}

/**
 * Checks a signed query and returns the verified scope, or throws a DreamLakeError:
 * `missing_signature`, `malformed_signature`, `expired_signature` or `bad_signature`.
 */
export function verify(options: VerifyOptions): VerifiedScope {
  const { query, action, secrets, now } = options;
  const maxLifetime = options.maxLifetimeSeconds ?? MAX_LIFETIME_SECONDS;
  const skew = options.clockSkewSeconds ?? 0;
  if (secrets.length === 0) throw new TypeError('verify: at least one secret is required');

  const sig = single(query, 'sig');
  const expText = single(query, 'exp');
  if (sig === undefined && expText === undefined) throw new DreamLakeError('missing_signature');
  if (sig === undefined || sig === '') throw new DreamLakeError('malformed_signature', 'sig is missing or empty');
  if (expText === undefined || !EXP.test(expText)) {
    throw new DreamLakeError('malformed_signature', 'exp must be an integer number of Unix seconds');
  }
  const exp = Number(expText);

  const params: Record<string, string> = {};
  for (const key of options.signed) {
    const value = single(query, key);
    // A missing signed param cannot match the signature that covered it.
    if (value === undefined) throw new DreamLakeError('bad_signature', `signed parameter "${key}" is missing`);
    params[key] = value;
  }
  for (const key of options.optional ?? []) {
    const value = single(query, key);
    if (value !== undefined) params[key] = value;
  }

  if (!SIG.test(sig)) throw new DreamLakeError('bad_signature', 'sig must be 64 lowercase hex digits');
  const given = Buffer.from(sig, 'hex');
  const canonical = canonicalString(action, params, exp);
  const matches = secrets.some((secret) =>
    timingSafeEqual(Buffer.from(signCanonical(secret, canonical), 'hex'), given),
  );
  if (!matches) throw new DreamLakeError('bad_signature');
  if (now - skew > exp) throw new DreamLakeError('expired_signature');
  if (exp - now > maxLifetime + skew)
    throw new DreamLakeError('bad_signature', 'signature lifetime is longer than allowed');
  return { action, params, exp };
}

import { createHash, randomBytes } from 'node:crypto';

/** Personal access tokens: `dlp_` then 32 random bytes, base64url. Only the SHA-256 is stored. */
export const ACCESS_TOKEN_PREFIX = 'dlp_';

export function newAccessToken(): string {
  return ACCESS_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashAccessToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function isAccessToken(token: string): boolean {
  return token.startsWith(ACCESS_TOKEN_PREFIX);
}

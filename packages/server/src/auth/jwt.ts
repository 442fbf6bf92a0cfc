import { SignJWT, jwtVerify } from 'jose';

const ALGORITHM = 'HS256';
const ISSUER = 'dreamlake';

export interface JwtIssuer {
  issue(userId: string, username: string, nowMs: number): Promise<{ token: string; expiresAt: string }>;
  /** The user id the token was issued to and its `exp` (ms), or null for any invalid, expired or foreign token. */
  verify(token: string, nowMs: number): Promise<{ userId: string; expiresAtMs: number } | null>;
}

/** HS256 only, `exp` required, lifetime from the configuration. */
export function createJwtIssuer(secret: string, ttlSeconds: number): JwtIssuer {
  // Imported for WebCrypto once: given raw bytes (or, on Node 20, a KeyObject), jose imports the
  // key again on every verification, which costs more than the verification itself.
  const key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  return {
    async issue(userId, username, nowMs) {
      const iat = Math.floor(nowMs / 1000);
      const exp = iat + ttlSeconds;
      const token = await new SignJWT({ name: username })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(await key);
      return { token, expiresAt: new Date(exp * 1000).toISOString() };
    },
    async verify(token, nowMs) {
      try {
        const { payload } = await jwtVerify(token, await key, {
          algorithms: [ALGORITHM],
          issuer: ISSUER,
          requiredClaims: ['exp', 'sub'],
          currentDate: new Date(nowMs),
        });
        return typeof payload.sub === 'string' && typeof payload.exp === 'number' ? { userId: payload.sub, expiresAtMs: payload.exp * 1000 } : null;
      } catch {
        return null;
      }
    },
  };
}

import { jwtVerify, SignJWT } from 'jose';

const ALGORITHM = 'HS256';
const ISSUER = 'dreamlake';

export interface JwtIssuer {
  /** `epoch` is the user's token epoch: a password change moves it on and every earlier JWT stops working. */
  issue(userId: string, username: string, epoch: number, nowMs: number): Promise<{ token: string; expiresAt: string }>;
  /** The user id, token epoch and `exp` (ms) of a token, or null for any invalid, expired or foreign token. */
  verify(token: string, nowMs: number): Promise<{ userId: string; epoch: number; expiresAtMs: number } | null>;
}

/** HS256 only, `exp` required, lifetime from the configuration. */
export function createJwtIssuer(secret: string, ttlSeconds: number): JwtIssuer {
  // Imported for WebCrypto once: given raw bytes (or, on Node 20, a KeyObject), jose imports the
  // key again on every verification, which costs more than the verification itself.
  const key = crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  );
  return {
    async issue(userId, username, epoch, nowMs) {
      const iat = Math.floor(nowMs / 1000);
      const exp = iat + ttlSeconds;
      const token = await new SignJWT({ name: username, ep: epoch })
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
        if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return null;
        const epoch = payload.ep === undefined ? 0 : payload.ep;
        return typeof epoch === 'number' ? { userId: payload.sub, epoch, expiresAtMs: payload.exp * 1000 } : null;
      } catch {
        return null;
      }
    },
  };
}

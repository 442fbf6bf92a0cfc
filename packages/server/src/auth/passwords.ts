import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * scrypt password hashes, stored as `scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>` so old hashes
 * verify after the cost changes.
 */
const KEY_LENGTH = 32;
const R = 8;
const P = 1;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  const maxmem = 256 * (options.N ?? 16384) * (options.r ?? 8) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...options, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(password: string, logN: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, { N: 2 ** logN, r: R, p: P });
  return ['scrypt', logN, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, logN, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !logN || !r || !p || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), { N: 2 ** Number(logN), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * A hasher bound to a cost. `verifyOrWaste` spends the same work when there is no stored hash
 * (an unknown user), so a login for a missing name takes as long as a wrong password.
 */
export function createPasswordHasher(logN: number) {
  let decoy: Promise<string> | undefined;
  const decoyHash = () => (decoy ??= hashPassword(randomBytes(16).toString('hex'), logN));
  return {
    hash: (password: string) => hashPassword(password, logN),
    /** Prepares the decoy hash ahead of the first login. */
    async warm(): Promise<void> {
      await decoyHash();
    },
    async verifyOrWaste(password: string, stored: string | undefined): Promise<boolean> {
      if (stored !== undefined) return verifyPassword(password, stored);
      await verifyPassword(password, await decoyHash());
      return false;
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;

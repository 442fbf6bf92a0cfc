import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { clientOf } from './client-address.ts';
import { createFairSemaphore } from './fair-semaphore.ts';

/**
 * scrypt password hashes, stored as `scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>` so old hashes
 * verify after the cost changes.
 */
const KEY_LENGTH = 32;
const R = 8;
const P = 1;

/** scrypt runs at once per process (libuv's thread pool has four threads by default). */
export const HASHES_RUNNING = 4;
/** Hashes waiting for a slot; one more is refused with 429 and `Retry-After: 1`. */
export const HASHES_WAITING = 16;
/** Hashes one client (an IPv4 address or an IPv6 /64) may have running and waiting at once. */
export const HASHES_PER_CLIENT = 4;
/** The client of work no request asked for (the admin command). */
const LOCAL_CLIENT = 'local';

export type Derive = (password: string, salt: Buffer, options: ScryptOptions) => Promise<Buffer>;

const scryptDerive: Derive = (password, salt, options) => {
  const maxmem = 256 * (options.N ?? 16384) * (options.r ?? 8) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...options, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
};

async function hashWith(derive: Derive, password: string, logN: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, { N: 2 ** logN, r: R, p: P });
  return ['scrypt', logN, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

async function verifyWith(derive: Derive, password: string, stored: string): Promise<boolean> {
  const [scheme, logN, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !logN || !r || !p || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), {
    N: 2 ** Number(logN),
    r: Number(r),
    p: Number(p),
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export const hashPassword = (password: string, logN: number) => hashWith(scryptDerive, password, logN);
export const verifyPassword = (password: string, stored: string) => verifyWith(scryptDerive, password, stored);

export interface PasswordHasherOptions {
  /** The key derivation (scrypt unless a test counts its calls). */
  derive?: Derive;
  maxRunning?: number;
  maxWaiting?: number;
  maxPerClient?: number;
}

/**
 * A hasher bound to a cost, with at most `maxRunning` derivations at once in this process and
 * `maxWaiting` queued, of which one client (its address or IPv6 /64, see client-address.ts) holds
 * at most `maxPerClient` (more: 429 `rate_limited`). `verifyOrWaste` spends the same work when there
 * is no stored hash (an unknown user), so a login for a missing name takes as long as a wrong
 * password.
 */
export function createPasswordHasher(logN: number, options: PasswordHasherOptions = {}) {
  const derive = options.derive ?? scryptDerive;
  const hashing = createFairSemaphore(
    options.maxRunning ?? HASHES_RUNNING,
    options.maxWaiting ?? HASHES_WAITING,
    options.maxPerClient ?? HASHES_PER_CLIENT,
  );
  let decoy: Promise<string> | undefined;
  const decoyHash = () => (decoy ??= hashWith(scryptDerive, randomBytes(16).toString('hex'), logN));
  return {
    /** `ip`: the address of the request that asked, if one did. */
    hash: (password: string, ip?: string) =>
      hashing.run(() => hashWith(derive, password, logN), ip === undefined ? LOCAL_CLIENT : clientOf(ip)),
    /** Prepares the decoy hash ahead of the first login. */
    async warm(): Promise<void> {
      await decoyHash();
    },
    async verifyOrWaste(password: string, stored: string | undefined, ip: string): Promise<boolean> {
      const against = stored ?? (await decoyHash());
      const ok = await hashing.run(() => verifyWith(derive, password, against), clientOf(ip));
      return stored !== undefined && ok;
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;

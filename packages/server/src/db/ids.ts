import { randomUUID } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): the creation time in milliseconds, then 74 random bits. Ids made one after
 * the other sort together, so inserts append to the end of a primary-key index instead of
 * touching a random page of it each (which, for a busy table, makes every commit write far more).
 */
export function newId(nowMs: number = Date.now()): string {
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx
  const time = nowMs.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
}

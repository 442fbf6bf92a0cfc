import { randomBytes } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { crc32Base64 } from '@dreamlake/protocol';
import { isMissing } from './files.ts';
import { partData } from './layout.ts';
import type { PartRecord } from './records.ts';

const CHUNK = 1024 * 1024;
/** Parts remembered as checked, over all uploads, before the memory is cleared (a part forgotten is only read again). */
const CHECKED_KEPT = 100_000;

/** Whether a part's data file holds exactly the bytes its record names (size and CRC-32). */
export function matchesRecord(record: PartRecord, size: number, crc: number): boolean {
  return record.crc32 !== undefined && size === record.size && crc32Base64(crc) === record.crc32;
}

/**
 * Which parts' bytes this backend instance may take as recorded without reading them. Parts are
 * acknowledged once written, not flushed (complete flushes them all at once, before the blob's
 * SHA-256 is compared): while the machine runs, the page cache holds what was written, so this
 * instance trusts the parts it wrote itself. A part written by another instance (another process,
 * or this one before a restart, which may have been a power loss) is trusted only once its data
 * file was read whole and matched the size and CRC-32 recorded for it; a part that does not match
 * is dropped by the caller, so a resuming client sends it again.
 */
export class PartChecks {
  /** Written into the record of every part this instance acknowledges unflushed. */
  readonly instance = randomBytes(12).toString('hex');
  /** Per upload folder, per part number: `{etag}:{dev}:{ino}` of the data file checked. */
  readonly #checked = new Map<string, Map<number, string>>();
  #count = 0;

  /** Whether the part's bytes need no reading: durable when recorded, written here, or checked here as that very file. */
  async trusted(dir: string, partNumber: number, record: PartRecord): Promise<boolean> {
    if (record.writtenBy === undefined || record.writtenBy === this.instance) return true;
    const known = this.#checked.get(dir)?.get(partNumber);
    if (known === undefined) return false;
    const info = await stat(partData(dir, partNumber, record.etag), { bigint: true }).catch(() => null);
    return info !== null && known === `${record.etag}:${info.dev}:${info.ino}`;
  }

  /**
   * Whether the part holds the bytes its record names: trusted, or its data file read whole
   * matches the recorded size and CRC-32 (then remembered). False when the data file is missing.
   */
  async verify(dir: string, partNumber: number, record: PartRecord): Promise<boolean> {
    if (await this.trusted(dir, partNumber, record)) return true;
    let input: Awaited<ReturnType<typeof open>>;
    try {
      input = await open(partData(dir, partNumber, record.etag), 'r');
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    try {
      const info = await input.stat({ bigint: true });
      if (Number(info.size) !== record.size) return false;
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, record.size)));
      let crc = 0;
      let size = 0;
      for (;;) {
        const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        crc = crc32(buffer.subarray(0, bytesRead), crc);
        size += bytesRead;
      }
      if (!matchesRecord(record, size, crc)) return false;
      this.remember(dir, partNumber, `${record.etag}:${info.dev}:${info.ino}`);
      return true;
    } finally {
      await input.close();
    }
  }

  private remember(dir: string, partNumber: number, id: string): void {
    if (this.#count >= CHECKED_KEPT) {
      this.#checked.clear();
      this.#count = 0;
    }
    let parts = this.#checked.get(dir);
    if (!parts) {
      parts = new Map();
      this.#checked.set(dir, parts);
    }
    if (!parts.has(partNumber)) this.#count += 1;
    parts.set(partNumber, id);
  }

  /** The upload is over (completed or aborted): what was checked of it goes. */
  forget(dir: string): void {
    const parts = this.#checked.get(dir);
    if (!parts) return;
    this.#count -= parts.size;
    this.#checked.delete(dir);
  }
}

import { createHash, type Hash } from 'node:crypto';
import type { FileDigest } from '../upload/hash.ts';
import { choosePartSize } from '../upload/plan.ts';

/**
 * The SHA-256 of a file fed to it in order, and the MD5 of each of its upload parts (the shape the
 * hash cache keeps), so that a downloaded file is recognised by the next upload or download
 * without being read again. MD5s are only taken for files up to `md5UpTo` bytes.
 */
export class DigestBuilder {
  readonly #sha = createHash('sha256');
  readonly #partSize: number;
  readonly #withMd5: boolean;
  readonly #partMd5: string[] = [];
  #md5: Hash | undefined;
  #inPart = 0;
  #total = 0;

  constructor(size: number, md5UpTo: number) {
    this.#partSize = choosePartSize(size);
    this.#withMd5 = size <= md5UpTo;
    if (this.#withMd5) this.#md5 = createHash('md5');
  }

  get bytes(): number {
    return this.#total;
  }

  update(chunk: Uint8Array): void {
    this.#sha.update(chunk);
    this.#total += chunk.length;
    if (!this.#md5) return;
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(chunk.length - offset, this.#partSize - this.#inPart);
      this.#md5.update(chunk.subarray(offset, offset + take));
      offset += take;
      this.#inPart += take;
      if (this.#inPart === this.#partSize) {
        this.#partMd5.push(this.#md5.digest('base64'));
        this.#md5 = createHash('md5');
        this.#inPart = 0;
      }
    }
  }

  /** The SHA-256 (hex), and the digest for the hash cache when part MD5s were taken. */
  finish(): { sha256: string; digest: FileDigest | undefined } {
    const sha256 = this.#sha.digest('hex');
    if (!this.#md5) return { sha256, digest: undefined };
    if (this.#inPart > 0 || this.#total === 0) this.#partMd5.push(this.#md5.digest('base64'));
    return { sha256, digest: { sha256, partSize: this.#partSize, partMd5: this.#partMd5 } };
  }
}

import { type FileDigest, DigestBuilder as FileDigestBuilder } from '../upload/hash.ts';
import { choosePartSize } from '../upload/plan.ts';

/**
 * The SHA-256 of a file fed to it in order, and the CRC-32 of each of its upload parts (the shape
 * the hash cache keeps), so that a downloaded file is recognised by the next upload or download
 * without being read again. The CRC-32s cost a fraction of the SHA-256, so every file gets them.
 */
export class DigestBuilder {
  readonly #builder: FileDigestBuilder;
  #total = 0;

  constructor(size: number) {
    this.#builder = new FileDigestBuilder(choosePartSize(size));
  }

  get bytes(): number {
    return this.#total;
  }

  update(chunk: Uint8Array): void {
    this.#builder.update(chunk);
    this.#total += chunk.length;
  }

  /** The SHA-256 (hex), and the digest for the hash cache. */
  finish(): { sha256: string; digest: FileDigest } {
    const digest = this.#builder.digest();
    return { sha256: digest.sha256, digest };
  }
}

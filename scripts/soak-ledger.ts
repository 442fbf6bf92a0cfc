/**
 * The soak's books: every upload it starts ends either listed in the index with the SHA-256 it
 * was made from, or with a clear error (a message, and nothing half-listed); one that ends
 * otherwise is lost and fails the run. Also the injected faults by kind, each answered as
 * expected or not, and the downloads checked byte for byte.
 */

/** What a finished upload put in the index: name → SHA-256, under `prefix` of `namespace/space`. */
export interface Published {
  namespace: string;
  space: string;
  prefix: string;
  files: Map<string, string>;
}

export class Ledger {
  started = 0;
  listed = 0;
  filesListed = 0;
  /** Uploads that ended with an error, by the error's first words (aborts are asked for). */
  readonly endedWithError = new Map<string, number>();
  readonly lost: string[] = [];
  readonly published: Published[] = [];
  readonly faults = new Map<string, { injected: number; unexpected: string[] }>();
  downloads = 0;
  filesDownloaded = 0;
  readonly badDownloads: string[] = [];
  /** Library calls that returned with abort listeners still on the caller's signal. */
  readonly listenersLeft: string[] = [];
  listings = 0;
  readonly badListings: string[] = [];

  fault(kind: string, unexpected?: string): void {
    const entry = this.faults.get(kind) ?? { injected: 0, unexpected: [] };
    entry.injected += 1;
    if (unexpected !== undefined) entry.unexpected.push(unexpected);
    this.faults.set(kind, entry);
  }

  error(reason: string): void {
    this.endedWithError.set(reason, (this.endedWithError.get(reason) ?? 0) + 1);
  }

  get uploadsEndedWithError(): number {
    return [...this.endedWithError.values()].reduce((a, b) => a + b, 0);
  }

  get faultsInjected(): number {
    return [...this.faults.values()].reduce((a, f) => a + f.injected, 0);
  }

  get unexpectedFaults(): string[] {
    return [...this.faults.entries()].flatMap(([kind, f]) => f.unexpected.map((u) => `${kind}: ${u}`));
  }

  /** Uploads neither listed nor ended with an error: still running when the run ended. */
  get unaccounted(): number {
    return this.started - this.listed - this.uploadsEndedWithError - this.lost.length;
  }

  report(): string {
    const lines = [
      `uploads started ${this.started}: listed with the right SHA-256 ${this.listed} (${this.filesListed} files), ended with a clear error ${this.uploadsEndedWithError}, lost ${this.lost.length}, unaccounted ${this.unaccounted}`,
    ];
    for (const [reason, n] of [...this.endedWithError.entries()].sort((a, b) => b[1] - a[1])) {
      lines.push(`  error ×${n}: ${reason}`);
    }
    for (const l of this.lost.slice(0, 20)) lines.push(`  LOST: ${l}`);
    lines.push(
      `downloads ${this.downloads} (${this.filesDownloaded} files, each SHA-256 checked), wrong ${this.badDownloads.length}; listings ${this.listings}, wrong ${this.badListings.length}`,
    );
    for (const l of [...this.badDownloads, ...this.badListings].slice(0, 20)) lines.push(`  WRONG: ${l}`);
    lines.push(`library calls that left abort listeners on their caller's signal: ${this.listenersLeft.length}`);
    for (const l of this.listenersLeft.slice(0, 10)) lines.push(`  LEFT: ${l}`);
    lines.push(
      `faults injected ${this.faultsInjected}, answered otherwise than expected ${this.unexpectedFaults.length}`,
    );
    for (const [kind, f] of [...this.faults.entries()].sort()) {
      lines.push(`  ${kind}: ${f.injected}${f.unexpected.length ? `, unexpected ${f.unexpected.length}` : ''}`);
    }
    for (const u of this.unexpectedFaults.slice(0, 20)) lines.push(`  UNEXPECTED: ${u}`);
    return lines.join('\n');
  }
}

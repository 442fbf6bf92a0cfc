/**
 * Bytes a process may hold at once for one purpose. Taking never waits, so a burst of uploads
 * cannot queue behind memory: a caller that finds the budget spent does its work another way (a
 * staged object is published from a private copy) or refuses it for now (a single-shot body PUT
 * to BSS is answered 503 with Retry-After).
 */
export class ByteBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}

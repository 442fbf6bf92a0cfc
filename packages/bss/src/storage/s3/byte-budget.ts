/**
 * Bytes a process may hold at once for one purpose. Taking never waits: a caller that finds the
 * budget spent does its work another way, so a burst of uploads cannot queue behind memory.
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

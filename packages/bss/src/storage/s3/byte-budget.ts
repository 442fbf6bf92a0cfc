/**
 * Bytes a process may hold at once for one purpose. A caller with another way to do its work
 * takes without waiting (a staged object is published from a private copy when the budget is
 * spent); one without (a single-shot body PUT to BSS) may wait a bounded time for room, so that a
 * burst that fills the budget for a moment costs latency, not a refusal, and is refused (503 with
 * Retry-After) only when the budget stays spent.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly limit: number) {}

  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  /** Takes `bytes`, waiting up to `waitMs` for others to give theirs back; false when it could not. */
  async take(bytes: number, waitMs: number): Promise<boolean> {
    if (this.tryTake(bytes)) return true;
    if (bytes > this.limit) return false;
    const deadline = Date.now() + waitMs;
    for (let left = waitMs; left > 0; left = deadline - Date.now()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (this.tryTake(bytes)) return true;
    }
    return false;
  }

  release(bytes: number): void {
    this.used -= bytes;
    for (const wake of this.waiters.splice(0)) wake();
  }
}

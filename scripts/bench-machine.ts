/**
 * How busy the machine is, from /proc: the benchmark waits for a quiet machine before each
 * section (other work on 2 cores moves every figure) and prints what it saw beside the table.
 */
import { readFile } from 'node:fs/promises';
import { sleep } from './bench-services.ts';

async function cpuTimes(): Promise<{ idle: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { idle, total: fields.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** Share of all cores busy over the next `ms` (0..1). */
export async function cpuBusy(ms = 1000): Promise<number> {
  const a = await cpuTimes();
  await sleep(ms);
  const b = await cpuTimes();
  const total = b.total - a.total;
  return total <= 0 ? 0 : 1 - (b.idle - a.idle) / total;
}

/**
 * Waits (up to `maxWaitMs`) until the cores are less than `threshold` busy for a second; answers
 * the last share seen, so a section that had to start on a busy machine says so.
 */
export async function waitForQuiet(maxWaitMs: number, threshold = 0.15): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const busy = await cpuBusy(1000);
    if (busy < threshold || Date.now() > deadline) return busy;
  }
}

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

/** CPU seconds spent busy so far by the whole machine, all cores together (from /proc/stat, 100 ticks a second). */
export async function machineBusySeconds(): Promise<number> {
  const { idle, total } = await cpuTimes();
  return (total - idle) / 100;
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

/** CPU seconds (user + system) a process has used so far; 0 when it is gone. */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which is in parentheses and may hold spaces): utime is the 14th field, stime the 15th.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11] ?? 0) + Number(rest[12] ?? 0);
  return ticks / 100;
}

/** Starts counting the CPU of some processes; the returned function answers each one's share of one core since. */
export async function cpuShare(pids: readonly number[]): Promise<() => Promise<number[]>> {
  const started = performance.now();
  const before = await Promise.all(pids.map(cpuSecondsOf));
  return async () => {
    const seconds = (performance.now() - started) / 1000;
    const after = await Promise.all(pids.map(cpuSecondsOf));
    return after.map((a, i) => (a - (before[i] ?? 0)) / seconds);
  };
}

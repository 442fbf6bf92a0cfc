/** A job run on an interval; see `runPeriodically`. */
export interface PeriodicJob {
  /** Stops the timer and waits for a run under way; no run starts after it is called. */
  stop(): Promise<void>;
}

export interface PeriodicOptions {
  /** Time between ticks, in ms. */
  intervalMs: number;
  /** Told of a run that failed; the next tick runs again. */
  onError: (error: unknown) => void;
  /** Told of a tick skipped because the previous run is still going. */
  onSkip?: () => void;
}

/**
 * Runs `run` at once and then every `intervalMs`, never two at a time: a tick that finds the
 * previous run still going is skipped (a collection or a sweep that takes longer than the interval
 * does not pile up). The timer does not keep the process alive.
 */
export function runPeriodically(run: () => Promise<unknown>, options: PeriodicOptions): PeriodicJob {
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    if (running) {
      options.onSkip?.();
      return;
    }
    running = (async () => {
      try {
        await run();
      } catch (error) {
        options.onError(error);
      } finally {
        running = null;
      }
    })();
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  tick();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

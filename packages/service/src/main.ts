import { exitOnSignals } from './drain.ts';
import type { RunningService } from './start.ts';

export interface MainOptions<C> {
  /** The program's name, before each message it prints (`dreamlake-server`). */
  name: string;
  /** Reads the configuration (throws ConfigError naming every problem). */
  load(): C;
  start(config: C): Promise<RunningService>;
  /** What to log once it listens. */
  started(service: RunningService, config: C): void;
}

/**
 * A service's process: loads its configuration, starts it and drains it on SIGTERM or SIGINT.
 * A configuration or start that fails prints one line (no stack) and exits 1.
 */
export function runMain<C>(options: MainOptions<C>): void {
  const fail = (error: unknown) => {
    console.error(`${options.name}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  };
  (async () => {
    const config = options.load();
    const service = await options.start(config);
    options.started(service, config);
    exitOnSignals(service.app.log, (signal) => service.shutdown(signal));
  })().catch(fail);
}

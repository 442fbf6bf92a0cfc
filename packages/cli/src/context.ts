import type { Env } from './config.ts';

/** What a command may touch of its process: passed in, so commands stay testable. */
export interface Io {
  env: Env;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** The working folder (relative paths resolve against it); `process.cwd` when absent. */
  cwd?: () => string;
}

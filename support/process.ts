/**
 * Starting a service of this repository in its own process and reading its URL, for the tests,
 * the benchmarks and the scripts alike: `node --import tsx <script>` with an environment built by
 * the caller (nothing inherited but what it passes), its output kept for the error message, and a
 * start that fails at once when the process exits, or after a deadline, instead of hanging.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GaveUp, waitFor } from './wait.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A child process with what it wrote kept, in order, stdout and stderr together and apart. */
export interface Child {
  child: ChildProcess;
  /** stdout and stderr chunks as they came (the last `keep` of them). */
  output: string[];
  stdout: string[];
  stderr: string[];
  /** Resolves when the process has exited and its output is read to the end. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  /** The whole environment of the child; PATH is added when missing. */
  env: Record<string, string>;
  args?: readonly string[];
  /** Working folder (default: the repository). */
  cwd?: string;
  /** Written to stdin, which is then closed; without it stdin is closed at once. */
  stdin?: string;
  /** How many chunks of output to keep (a long benchmark keeps the last few hundred). */
  keep?: number;
}

/** Runs a TypeScript file with tsx in its own process. */
export function startProcess(script: string, options: StartOptions): Child {
  return startCommand(process.execPath, ['--import', 'tsx', script, ...(options.args ?? [])], {
    ...options,
    args: [],
  });
}

/** Runs any command (an installed program, or a unit file's command line) the same way. */
export function startCommand(command: string, args: readonly string[], options: StartOptions): Child {
  const child = spawn(command, [...args, ...(options.args ?? [])], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  child.stdin?.end(options.stdin);
  const done = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const proc: Child = { child, output: [], stdout: [], stderr: [], done };
  const keep = options.keep ?? Number.POSITIVE_INFINITY;
  const keeper = (own: string[]) => (chunk: Buffer) => {
    const text = chunk.toString();
    for (const list of [own, proc.output]) {
      list.push(text);
      if (list.length > keep) list.splice(0, list.length - keep);
    }
  };
  child.stdout?.on('data', keeper(proc.stdout));
  child.stderr?.on('data', keeper(proc.stderr));
  return proc;
}

const running = (proc: Child | undefined): proc is Child =>
  proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;

/** Stops a process with `signal`, and with SIGKILL if it is still there `killAfterMs` later. */
export async function stopChild(
  proc: Child | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
  killAfterMs = 5000,
): Promise<void> {
  if (!running(proc)) return;
  const exited = once(proc.child, 'exit');
  proc.child.kill(signal);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}

/** A port free on the loopback right now (another process may still take it before it is used). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

function exitedError(proc: Child, what: string): GaveUp {
  return new GaveUp(`${what} exited (${proc.child.exitCode ?? proc.child.signalCode}):\n${proc.output.join('')}`);
}

/** Waits until `url` answers 2xx; throws with the child's output when it exits or takes too long. */
export async function waitHealthy(proc: Child, url: string, what: string, timeoutMs = 30_000): Promise<void> {
  try {
    await waitFor(
      `${what} at ${url}`,
      async () => {
        if (!running(proc)) throw exitedError(proc, what);
        const res = await fetch(url);
        await res.arrayBuffer();
        return res.ok;
      },
      timeoutMs,
      100,
    );
  } catch (error) {
    if (error instanceof GaveUp) throw error;
    throw new Error(`${what} did not answer at ${url}: ${(error as Error).message}\n${proc.output.join('')}`);
  }
}

/**
 * The address a service started on port 0 logs: BSS's `"url":"http://…"` (its "BSS ready" line)
 * or the server's "listening on http://…".
 */
export const URL_IN_LOG = /"url":"(https?:\/\/[^"]+)"|listening on (https?:\/\/[^"\s]+)/;

/** Resolves the first URL the process writes; throws with its output when it exits or takes too long. */
export async function readUrl(proc: Child, what: string, timeoutMs = 30_000, pattern = URL_IN_LOG): Promise<string> {
  const found = () => {
    const match = pattern.exec(proc.output.join(''));
    return match?.slice(1).find((group) => group !== undefined);
  };
  return new Promise<string>((resolve, reject) => {
    const finish = (error?: Error, url?: string) => {
      clearTimeout(timer);
      proc.child.stdout?.off('data', onData);
      proc.child.stderr?.off('data', onData);
      proc.child.off('exit', onExit);
      if (error) reject(error);
      else resolve(url as string);
    };
    // Called after the keepers (registered first), so the output already holds the chunk.
    const onData = () => {
      const url = found();
      if (url) finish(undefined, url);
    };
    const onExit = () => setImmediate(() => (found() ? onData() : finish(exitedError(proc, what))));
    const timer = setTimeout(
      () => finish(new Error(`${what} logged no URL within ${timeoutMs} ms:\n${proc.output.join('')}`)),
      timeoutMs,
    );
    proc.child.stdout?.on('data', onData);
    proc.child.stderr?.on('data', onData);
    proc.child.once('exit', onExit);
    if (!running(proc)) onExit();
    else onData();
  });
}

export interface ServiceOptions extends StartOptions {
  /** What the messages call it ("BSS", "server"). */
  what: string;
  /** Where it will answer (its port chosen by the caller): then its /healthz is awaited. Otherwise its URL is read from its log. */
  url?: string;
  timeoutMs?: number;
}

export type Service = Child & { url: string };

/**
 * Starts a service and answers once it is up, with its URL. A service that fails is stopped and
 * its output is in the error.
 */
export async function startService(script: string, options: ServiceOptions): Promise<Service> {
  const proc = startProcess(script, options);
  try {
    if (options.url) {
      await waitHealthy(proc, `${options.url}/healthz`, options.what, options.timeoutMs);
      return Object.assign(proc, { url: options.url });
    }
    return Object.assign(proc, { url: await readUrl(proc, options.what, options.timeoutMs) });
  } catch (error) {
    await stopChild(proc, 'SIGKILL');
    throw error;
  }
}

import { fileURLToPath } from 'node:url';
import { startProcess } from '../../../../support/process.ts';

export const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Runs a server script with tsx and an explicitly built environment, to its end. */
export function runScript(script: string, args: string[], env: Record<string, string>, stdin = '') {
  const proc = startProcess(`${SRC}${script}`, { env, args, stdin });
  const done = proc.done.then(({ code }) => ({ code, stdout: proc.stdout.join(''), stderr: proc.stderr.join('') }));
  return { child: proc.child, done };
}

/** A process's streams for running the CLI in-process: captured output, a chosen terminal or not. */
import { PassThrough } from 'node:stream';
import type { Io } from '../src/context.ts';

export interface FakeIo {
  io: Io;
  stdout: () => string;
  stderr: () => string;
}

function capture(isTTY: boolean): { stream: PassThrough & { isTTY: boolean; columns: number }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 120 });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

export function fakeIo(env: Record<string, string>, options: { tty?: boolean; cwd?: string } = {}): FakeIo {
  const out = capture(options.tty ?? false);
  const err = capture(options.tty ?? false);
  const stdin = Object.assign(new PassThrough(), { isTTY: false });
  stdin.end();
  const io: Io = {
    env,
    stdin,
    stdout: out.stream,
    stderr: err.stream,
    ...(options.cwd ? { cwd: () => options.cwd as string } : {}),
  };
  return { io, stdout: out.text, stderr: err.text };
}

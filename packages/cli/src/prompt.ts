import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { UsageError } from './errors.ts';
import type { Io } from './context.ts';

/** All of stdin, up to its first line break (how `--password-stdin` reads a password). */
export async function readFirstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin as AsyncIterable<Buffer | string>) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  const text = Buffer.concat(chunks).toString('utf8');
  return text.split(/\r?\n/)[0] ?? '';
}

/** Asks one question on the terminal; with `secret`, what is typed is not echoed. */
export async function ask(io: Io, question: string, secret = false): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) io.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: io.stdin, output, terminal: true });
  try {
    io.stderr.write(question);
    muted = secret;
    const answer = await rl.question('');
    if (secret) io.stderr.write('\n');
    return answer.trim();
  } finally {
    rl.close();
  }
}

export interface Credentials {
  username: string;
  password: string;
}

/** Username and password from the flags, stdin, or prompts when on a terminal. */
export async function credentials(io: Io, options: { username?: string; passwordStdin?: boolean }): Promise<Credentials> {
  const tty = Boolean(io.stdin.isTTY);
  let username = options.username;
  if (!username) {
    if (!tty || options.passwordStdin) throw new UsageError('--username is required when not on a terminal');
    username = await ask(io, 'Username: ');
  }
  let password: string;
  if (options.passwordStdin) password = await readFirstLine(io.stdin);
  else if (tty) password = await ask(io, 'Password: ', true);
  else throw new UsageError('use --password-stdin to give the password when not on a terminal');
  if (username === '') throw new UsageError('the username is empty');
  if (password === '') throw new UsageError('the password is empty');
  return { username, password };
}

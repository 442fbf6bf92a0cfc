import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import type { Io } from './context.ts';
import { UsageError } from './errors.ts';

/** All of stdin, up to its first line break (how `--password-stdin` reads a password). */
export async function readFirstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin as AsyncIterable<Buffer | string>)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  const text = Buffer.concat(chunks).toString('utf8');
  return text.split(/\r?\n/)[0] ?? '';
}

/** Questions on the terminal through one readline interface (two would lose typed-ahead input). */
export class Prompter {
  #muted = false;
  readonly #io: Io;
  readonly #rl: ReturnType<typeof createInterface>;

  constructor(io: Io) {
    this.#io = io;
    const output = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (!this.#muted) io.stderr.write(chunk);
        callback();
      },
    });
    this.#rl = createInterface({ input: io.stdin, output, terminal: true });
  }

  /** With `secret`, what is typed is not echoed. */
  async ask(question: string, secret = false): Promise<string> {
    this.#io.stderr.write(question);
    this.#muted = secret;
    try {
      return (await this.#rl.question('')).trim();
    } finally {
      this.#muted = false;
      if (secret) this.#io.stderr.write('\n');
    }
  }

  close(): void {
    this.#rl.close();
  }
}

export interface Credentials {
  username: string;
  password: string;
}

/** Username and password from the flags, stdin, or prompts when on a terminal. */
export async function credentials(
  io: Io,
  options: { username?: string; passwordStdin?: boolean },
): Promise<Credentials> {
  const tty = Boolean(io.stdin.isTTY);
  let username = options.username;
  let password: string;
  if (options.passwordStdin) {
    if (!username) throw new UsageError('--username is required with --password-stdin');
    password = await readFirstLine(io.stdin);
  } else {
    if (!tty) throw new UsageError('use --password-stdin (and --username) when not on a terminal');
    const prompter = new Prompter(io);
    try {
      username ||= await prompter.ask('Username: ');
      password = await prompter.ask('Password: ', true);
    } finally {
      prompter.close();
    }
  }
  if (username === '') throw new UsageError('the username is empty');
  if (password === '') throw new UsageError('the password is empty');
  return { username, password };
}

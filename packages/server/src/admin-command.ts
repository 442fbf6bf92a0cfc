import { parseArgs } from 'node:util';
import { createPasswordHasher } from './auth/passwords.ts';
import { databaseUrlFrom } from './config.ts';
import { openDatabase } from './db/open.ts';
import { NAME_PATTERN } from './names.ts';
import { addUser, changePassword } from './services/accounts.ts';

export const ADMIN_USAGE = [
  'usage: admin.ts add-user NAME --password-stdin       create a user (and their personal namespace)',
  "       admin.ts set-password NAME --password-stdin   change a user's password",
  '       admin.ts --help                               print this',
  'The password is read from stdin; the database from DATABASE_URL or DREAMLAKE_DATA_DIR.',
].join('\n');

/** Every error the command prints is one line with this prefix. */
export const ADMIN_PREFIX = 'dreamlake-admin:';

export interface AdminIo {
  env: NodeJS.ProcessEnv;
  /** The password, read from stdin. */
  readPassword(): Promise<string>;
  out(line: string): void;
  err(line: string): void;
}

/** One line for any thrown value. */
export function adminErrorLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return `${ADMIN_PREFIX} ${text.split('\n')[0] ?? ''}`;
}

/** Node's parseArgs messages run on with advice about `--`: keep their first sentence. */
function firstSentence(message: string): string {
  const cut = message.indexOf('. ');
  return (cut === -1 ? message : message.slice(0, cut)).replace(/\.$/, '');
}

/**
 * `add-user NAME --password-stdin` and `set-password NAME --password-stdin` against the database
 * the environment names. Answers the exit code: 0 success, 1 failure, 2 usage error.
 */
export async function runAdminCommand(argv: string[], io: AdminIo): Promise<number> {
  const usageError = (what: string): number => {
    io.err(`${ADMIN_PREFIX} ${what} (run with --help for usage)`);
    return 2;
  };
  const parseConfig = {
    args: argv,
    allowPositionals: true,
    options: { 'password-stdin': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  } as const;
  let parsed: ReturnType<typeof parseArgs<typeof parseConfig>>;
  try {
    parsed = parseArgs(parseConfig);
  } catch (error) {
    return usageError(firstSentence((error as Error).message));
  }
  if (parsed.values.help) {
    io.out(ADMIN_USAGE);
    return 0;
  }
  const [command, name, ...rest] = parsed.positionals;
  if (command !== 'add-user' && command !== 'set-password') {
    return usageError(
      command === undefined
        ? 'missing command: add-user or set-password'
        : `unknown command "${command}": add-user or set-password`,
    );
  }
  if (!name) return usageError(`${command} needs a NAME`);
  if (rest.length > 0) return usageError(`unexpected argument "${rest[0]}"`);
  if (!parsed.values['password-stdin'])
    return usageError(`${command} reads the password from stdin: pass --password-stdin`);
  if (!NAME_PATTERN.test(name)) return usageError(`invalid name "${name}": must match ${NAME_PATTERN.source}`);
  const password = (await io.readPassword()).replace(/\r?\n$/, '');
  if (password.length < 8) {
    io.err(`${ADMIN_PREFIX} the password must be at least 8 characters`);
    return 1;
  }
  const logN = Number(io.env.SCRYPT_LOG_N || 17);
  let db: Awaited<ReturnType<typeof openDatabase>>;
  try {
    db = await openDatabase({ databaseUrl: databaseUrlFrom(io.env) });
  } catch (error) {
    io.err(adminErrorLine(error));
    return 1;
  }
  try {
    const ctx = { db, passwords: createPasswordHasher(logN), clock: Date.now };
    if (command === 'add-user') {
      await addUser(ctx, name, password);
      io.out(`created user ${name} with personal namespace ${name}`);
      return 0;
    }
    if (!(await changePassword(ctx, name, password))) {
      io.err(`${ADMIN_PREFIX} no user named ${name}`);
      return 1;
    }
    io.out(`password changed for ${name}`);
    return 0;
  } catch (error) {
    io.err(adminErrorLine(error));
    return 1;
  } finally {
    await db.destroy();
  }
}

import { parseArgs } from 'node:util';
import { NAME_PATTERN } from './names.ts';
import { databaseUrlFrom } from './config.ts';
import { openDatabase } from './db/open.ts';
import { createPasswordHasher } from './auth/passwords.ts';
import { addUser, changePassword } from './services/accounts.ts';

export const ADMIN_USAGE = 'usage: admin.ts (add-user|set-password) NAME --password-stdin';

export interface AdminIo {
  env: NodeJS.ProcessEnv;
  /** The password, read from stdin. */
  readPassword(): Promise<string>;
  out(line: string): void;
  err(line: string): void;
}

/**
 * `add-user NAME --password-stdin` and `set-password NAME --password-stdin` against the database
 * the environment names. Answers the exit code: 0 success, 1 failure, 2 usage error.
 */
export async function runAdminCommand(argv: string[], io: AdminIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { 'password-stdin': { type: 'boolean' } } });
  } catch (error) {
    io.err(`${(error as Error).message}\n${ADMIN_USAGE}`);
    return 2;
  }
  const [command, name, ...rest] = parsed.positionals;
  if ((command !== 'add-user' && command !== 'set-password') || !name || rest.length > 0 || !parsed.values['password-stdin']) {
    io.err(ADMIN_USAGE);
    return 2;
  }
  if (!NAME_PATTERN.test(name)) {
    io.err(`invalid name "${name}": must match ${NAME_PATTERN.source}`);
    return 2;
  }
  const password = (await io.readPassword()).replace(/\r?\n$/, '');
  if (password.length < 8) {
    io.err('the password must be at least 8 characters');
    return 1;
  }
  const logN = Number(io.env.SCRYPT_LOG_N || 17);
  const db = await openDatabase({ databaseUrl: databaseUrlFrom(io.env) });
  try {
    const ctx = { db, passwords: createPasswordHasher(logN), clock: Date.now };
    if (command === 'add-user') {
      await addUser(ctx, name, password);
      io.out(`created user ${name} with personal namespace ${name}`);
      return 0;
    }
    if (!(await changePassword(ctx, name, password))) {
      io.err(`no user named ${name}`);
      return 1;
    }
    io.out(`password changed for ${name}`);
    return 0;
  } catch (error) {
    io.err(error instanceof Error ? error.message : String(error));
    return 1;
  } finally {
    await db.destroy();
  }
}

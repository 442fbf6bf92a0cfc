import { parseArgs } from 'node:util';
import { NAME_PATTERN } from './names.ts';
import { databaseUrlFrom } from './config.ts';
import { openDatabase } from './db/open.ts';
import { createPasswordHasher } from './auth/passwords.ts';
import { addUser, changePassword } from './services/accounts.ts';

/**
 * Shell administration against the configured database:
 *   admin.ts add-user NAME --password-stdin
 *   admin.ts set-password NAME --password-stdin
 * Prints one line; exit 0 on success, 1 on failure, 2 on a usage error.
 */
const USAGE = 'usage: admin.ts (add-user|set-password) NAME --password-stdin';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { 'password-stdin': { type: 'boolean' } } });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const [command, name, ...rest] = parsed.positionals;
  if ((command !== 'add-user' && command !== 'set-password') || !name || rest.length > 0 || !parsed.values['password-stdin']) {
    console.error(USAGE);
    return 2;
  }
  if (!NAME_PATTERN.test(name)) {
    console.error(`invalid name "${name}": must match ${NAME_PATTERN.source}`);
    return 2;
  }
  const password = await readStdin();
  if (password.length < 8) {
    console.error('the password must be at least 8 characters');
    return 1;
  }
  const logN = Number(process.env.SCRYPT_LOG_N || 17);
  const db = await openDatabase({ databaseUrl: databaseUrlFrom(process.env) });
  try {
    const ctx = { db, passwords: createPasswordHasher(logN), clock: Date.now };
    if (command === 'add-user') {
      await addUser(ctx, name, password);
      console.log(`created user ${name} with personal namespace ${name}`);
      return 0;
    }
    if (!(await changePassword(ctx, name, password))) {
      console.error(`no user named ${name}`);
      return 1;
    }
    console.log(`password changed for ${name}`);
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  } finally {
    await db.destroy();
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);

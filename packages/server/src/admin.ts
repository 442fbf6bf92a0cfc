import { adminErrorLine, runAdminCommand } from './admin-command.ts';

/**
 * Shell administration against the configured database (DATABASE_URL or DREAMLAKE_DATA_DIR):
 *   admin.ts add-user NAME --password-stdin
 *   admin.ts set-password NAME --password-stdin
 *   admin.ts --help
 * Prints one line (errors prefixed `dreamlake-admin:`); exit 0 on success, 1 on failure, 2 on a
 * usage error.
 */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

runAdminCommand(process.argv.slice(2), {
  env: process.env,
  readPassword: readStdin,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
}).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(adminErrorLine(error));
    process.exit(1);
  },
);

import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { Io } from './context.ts';
import type { GlobRule } from './filters/globs.ts';
import { shareCommands } from './share-cli.ts';
import type { AssetType } from './types.ts';

// Each command's module (and the HTTP client under it) loads only when that command runs; start-up
// (`--help`) loads commander and the definitions below, not the protocol package either.
const login = async (io: Io, o: object) => (await import('./commands/login.ts')).login(io, o);
const signup = async (io: Io, o: object) => (await import('./commands/signup.ts')).signup(io, o);
const logout = async (io: Io) => (await import('./commands/logout.ts')).logout(io);
const whoami = async (io: Io, o: object) => (await import('./commands/whoami.ts')).whoami(io, o);
const upload = async (io: Io, paths: string[], o: object) =>
  (await import('./commands/upload.ts')).upload(io, paths, o);
const ls = async (io: Io, space: string, o: object) => (await import('./commands/ls.ts')).ls(io, space, o);
const download = async (io: Io, file: string, o: object) =>
  (await import('./commands/download.ts')).download(io, file, o);
const rm = async (io: Io, targets: string[], o: object) => (await import('./commands/rm.ts')).rm(io, targets, o);
const log = async (io: Io, space: string, o: object) => (await import('./commands/log.ts')).log(io, space, o);
const diff = async (io: Io, from: string, to: string | undefined, o: object) =>
  (await import('./commands/diff.ts')).diff(io, from, to, o);
const restore = async (io: Io, snapshot: string, o: object) =>
  (await import('./commands/restore.ts')).restore(io, snapshot, o);
const verify = async (io: Io, ref: string, dir: string, o: object) =>
  (await import('./commands/verify.ts')).verify(io, ref, dir, o);
const sync = async (io: Io, dir: string, target: string, o: object) =>
  (await import('./commands/sync.ts')).sync(io, dir, target, o);

/** The walk's flags `upload` and `sync` share: its filters, `--bwlimit` and `--dry-run`. */
function walkFlags(command: Command): Command {
  return filterFlags(command)
    .option('--bwlimit <rate>', 'limit total transfer speed, e.g. 20M, 512k or bytes per second (binary units), or off')
    .option(
      '--dry-run',
      'print what would be done (with --json one object per line); nothing is uploaded or committed',
    );
}

/**
 * The folder walk's filters: what `upload`, `sync` and `verify` leave out of a folder alike.
 * `--exclude` and `--include` go, in the order given, into one list (`filter`): the last
 * pattern that matches a name decides.
 */
function filterFlags(command: Command): Command {
  const rules: GlobRule[] = [];
  const rule = (kind: GlobRule['kind']) => (pattern: string) => {
    rules.push({ kind, pattern });
    return rules;
  };
  return command
    .addOption(new Option('--exclude <glob>', 'leave out files matching GLOB (repeatable)').argParser(rule('exclude')))
    .addOption(
      new Option(
        '--include <glob>',
        'take files matching GLOB even if an ignore rule leaves them out (repeatable)',
      ).argParser(rule('include')),
    )
    .option('--no-default-ignores', 'also take .DS_Store, Thumbs.db, .git/, __pycache__/, *.pyc, *.swp, *~ …')
    .option('--follow-symlinks', 'follow symbolic links inside folders (not followed by default; a loop is reported)')
    .hook('preAction', (_cmd, action) => {
      action.setOptionValue('filter', rules);
    });
}

/** The CLI's version, from its package.json. */
export function cliVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/**
 * The command line's definitions. `assetTypes`: the choices of `upload --type`, given when the
 * command line names `upload` (the only way to reach that command, its help included).
 */
function program(io: Io, assetTypes: readonly AssetType[] | undefined): Command {
  const cli = new Command('dreamlake')
    .description('Upload to and download from DreamLake')
    .version(cliVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Commander's usage errors read like the CLI's own: `dreamlake: <what is wrong>`, one line.
      outputError: (s, write) => write(`dreamlake: ${s.replace(/^error: /, '').trimEnd()}\n`),
    });
  const server = () =>
    new Option('--server <url>', 'DreamLake server (default: saved, $DREAMLAKE_SERVER, http://127.0.0.1:10233)');

  for (const [name, action, about] of [
    ['login', login, 'log in and keep the token in ~/.dreamlake (or $DREAMLAKE_HOME)'],
    ['signup', signup, 'create an account (when the server allows it) and log in'],
  ] as const) {
    cli
      .command(name)
      .description(about)
      .addOption(server())
      .option('--username <name>', 'user name (asked on a terminal when missing)')
      .option('--password-stdin', 'read the password from stdin')
      .option('--bss <url>', 'BSS address to keep for the legacy upload flow')
      .action((options) => action(io, options));
  }
  cli
    .command('logout')
    .description('forget the saved token')
    .action(() => logout(io));
  cli
    .command('whoami')
    .description('show the logged-in user and their namespaces')
    .addOption(server())
    .option('--json', 'print JSON')
    .action((options) => whoami(io, options));
  const assetType = new Option('--type <type>', 'asset type instead of detecting it from the extension');
  const uploadCommand = cli
    .command('upload')
    .description(
      'upload files and folders into a space as one new snapshot (resumes an interrupted upload when run again)',
    )
    .argument('<path...>', 'files or folders')
    .requiredOption(
      '--to <namespace/space>',
      'where to put them (NAMESPACE/SPACE/FOLDER/: under that folder of the space)',
    )
    .addOption(assetTypes ? assetType.choices(assetTypes) : assetType)
    .option('-m, --message <text>', "the snapshot's message")
    .option('--concurrency <n>', 'parts in flight at once', '4')
    .option('--json', 'print one JSON object per file, then one for the snapshot')
    .addOption(server())
    .option('--bss <url>', 'BSS address for the legacy unsigned flow (old servers only; or $DREAMLAKE_BSS)')
    .action((paths: string[], options) => upload(io, paths, options));
  walkFlags(uploadCommand);
  const syncCommand = cli
    .command('sync')
    .description(
      'make the names under a folder of a space the contents of DIR, as ONE snapshot: new and changed files uploaded, unchanged ones not, with --delete the names DIR lacks removed',
    )
    .argument('<dir>', 'the local folder (its own name is not part of the names)')
    .argument('<namespace/space[/prefix]>', 'the space, or a folder in it')
    .option('--delete', 'remove names under the prefix that DIR does not have (names the filters leave out stay)')
    .option('--delete-excluded', 'remove also the names the filters leave out (implies --delete)')
    .option('--max-delete <n>', 'refuse (exit 3, nothing sent or committed) a sync that would remove more than N names')
    .option('-m, --message <text>', "the snapshot's message")
    .option('--concurrency <n>', 'parts in flight at once', '4')
    .option('--json', 'print the plan as one JSON object per file, then one for the snapshot')
    .addOption(server())
    .action((dir: string, target: string, options) => sync(io, dir, target, options));
  walkFlags(syncCommand);
  cli
    .command('ls')
    .description('list the files of a space (its head, or snapshot N with @N), or of a folder in it')
    .argument('<namespace/space[@N][/prefix]>')
    .option('--json', 'print JSON')
    .addOption(server())
    .action((space: string, options) => ls(io, space, options));
  cli
    .command('download')
    .description(
      'download a file, a folder or a whole space, verifying each SHA-256 (resumes an interrupted download when run again)',
    )
    .argument(
      '<namespace/space[@N][/path] | link>',
      'a file, a folder (everything under that prefix) or the whole space; @N: as snapshot N held it; or a share link (https://…/s/dls_…)',
    )
    .option(
      '-o, --output <path>',
      "where to write: for a file, a file or folder (default: its base name here); for a folder or space, the folder to fill (default: the folder's or space's name here)",
    )
    .option('--force', 'overwrite an existing file whose content differs')
    .option('--bwlimit <rate>', 'limit total download speed, e.g. 20M, 512k or bytes per second (binary units), or off')
    .option('--json', 'print one JSON object per file')
    .addOption(server())
    .action((file: string, options) => download(io, file, options));
  cli
    .command('rm')
    .description("remove files (or with -r folders) from a space's head, as one new snapshot")
    .argument('<namespace/space/name...>', 'files, or folders ending in / with -r, all in one space')
    .option('-r, --recursive', 'remove every file under each folder')
    .option('-m, --message <text>', "the snapshot's message")
    .option('--json', 'print the snapshot as JSON')
    .addOption(server())
    .action((targets: string[], options) => rm(io, targets, options));
  cli
    .command('log')
    .description("list a space's snapshots, newest first")
    .argument('<namespace/space>')
    .option('-n, --max-count <n>', 'only the newest n')
    .option('--json', 'print JSON')
    .addOption(server())
    .action((space: string, options) => log(io, space, options));
  cli
    .command('diff')
    .description('list the files that differ between two snapshots of a space (+ added, ~ changed, - removed)')
    .argument('<namespace/space@A>')
    .argument('[namespace/space@B]', 'the other snapshot (default: head)')
    .option('--json', 'print JSON')
    .addOption(server())
    .action((from: string, to: string | undefined, options) => diff(io, from, to, options));
  cli
    .command('restore')
    .description("make a space's head hold exactly the files of snapshot N again, as one new snapshot")
    .argument('<namespace/space@N>')
    .option('-m, --message <text>', "the snapshot's message (default: restore version N)")
    .option('--json', 'print the snapshot as JSON')
    .addOption(server())
    .action((snapshot: string, options) => restore(io, snapshot, options));
  const verifyCommand = cli
    .command('verify')
    .description(
      'check that a folder holds exactly the files of snapshot N (or head): lists missing, extra and changed files, exits 1 on any',
    )
    .argument('<namespace/space[@N][/folder/]>')
    .argument('<dir>', 'the local folder')
    .option('--json', 'print JSON')
    .addOption(server())
    .action((ref: string, dir: string, options) => verify(io, ref, dir, options));
  filterFlags(verifyCommand);
  shareCommands(cli, io, server);
  return cli;
}

/** Runs the command line; answers the exit code (0 success, 1 failure, 2 usage, 3 a sync past --max-delete). */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  try {
    // The asset types are the protocol's table: loaded, with the protocol, only for `upload`.
    const assetTypes = argv.includes('upload') ? (await import('./types.ts')).ASSET_TYPES : undefined;
    await program(io, assetTypes).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0)
        return 0;
      return 2;
    }
    // A command that failed has loaded these already; a failure before any command loads them here.
    const { CliError, describeError } = await import('./errors.ts');
    io.stderr.write(`dreamlake: ${describeError(error)}\n`);
    return error instanceof CliError ? error.exitCode : 1;
  }
}

import type { Command, Option } from 'commander';
import type { Io } from './context.ts';

/**
 * `dreamlake share`, `share ls` and `share revoke`; each loads its module only when it runs. The
 * subcommands read `share`'s options too (`--json`, `--server` given on either are the same).
 */
export function shareCommands(cli: Command, io: Io, server: () => Option): void {
  const commands = () => import('./commands/share.ts');
  const share = cli
    .command('share')
    .description(
      'make a link anyone may list and download a space (at @N, or head at each use) or a folder of it with, no account needed',
    )
    .argument(
      '<namespace/space[@N][/folder]>',
      'what the link names: @N pins that snapshot; /folder: only the names in that folder (run4 is run4/, never run42/)',
    )
    .option(
      '--expires <duration>',
      'how long the link works: 30s, 10m, 12h, 7d (default 7d; at most the server allows)',
    )
    .option('--json', 'print JSON')
    .addOption(server())
    .action(async (target: string, options) => (await commands()).share(io, target, options));
  share
    .command('ls')
    .description('list the share links of your namespaces (or of one), with their use counts and last use')
    .argument('[namespace]')
    .option('--json', 'print JSON')
    .addOption(server())
    .action(async (namespace: string | undefined, _options, command: Command) =>
      (await commands()).shareLs(io, namespace, command.optsWithGlobals()),
    );
  share
    .command('revoke')
    .description('revoke a share link: it stops working at once')
    .argument('<id>')
    .option('--json', 'print JSON')
    .addOption(server())
    .action(async (id: string, _options, command: Command) =>
      (await commands()).shareRevoke(io, id, command.optsWithGlobals()),
    );
}

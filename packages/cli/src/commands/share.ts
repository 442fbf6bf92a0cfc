import type { ListedShare } from '@dreamlake/protocol/client';
import type { SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { ApiError, UsageError } from '../errors.ts';
import { formatSeconds, parseDuration } from '../share-link.ts';
import { folderPrefix, parseSpacePath } from '../target.ts';
import { withServer } from './server-session.ts';

export interface ShareOptions extends SettingFlags {
  expires?: string;
  json?: boolean;
}

/** `NS/SPACE[@N][/PREFIX]` of a link: what it names. */
function shown(s: { namespace: string; space: string; version: number | null; prefix: string }): string {
  return `${s.namespace}/${s.space}${s.version !== null ? `@${s.version}` : ''}${s.prefix ? `/${s.prefix}` : ''}`;
}

/**
 * `dreamlake share NS/SPACE[@N][/FOLDER] [--expires DURATION]`: a link anyone holding it may list
 * and download with, no account needed (FOLDER with or without its `/`: `run4` names `run4/`
 * alone); prints the link and its id (`--json`: one object). An expiry above the server's
 * maximum is a usage error naming it (exit 2).
 */
export async function share(io: Io, targetText: string, options: ShareOptions): Promise<void> {
  const ref = parseSpacePath(targetText);
  const prefix = folderPrefix(ref.path, targetText);
  const expiresInSeconds = options.expires === undefined ? undefined : parseDuration(options.expires);
  await withServer(io, options, async (api) => {
    let made: Awaited<ReturnType<typeof api.createShare>>;
    try {
      made = await api.createShare({
        namespace: ref.namespace,
        space: ref.space,
        ...(ref.version !== undefined ? { version: ref.version } : {}),
        ...(prefix !== '' ? { prefix } : {}),
        ...(expiresInSeconds !== undefined ? { expiresInSeconds } : {}),
      });
    } catch (error) {
      const max = error instanceof ApiError ? error.details?.maxSeconds : undefined;
      if (typeof max === 'number')
        throw new UsageError(
          `--expires ${options.expires} is longer than this server allows: at most ${formatSeconds(max)} (${max} s)`,
        );
      throw error;
    }
    const url = `${api.server}${made.path}`;
    const { secret: _secret, path: _path, ...rest } = made;
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ ...rest, url })}\n`);
      return;
    }
    io.stdout.write(
      `${url}\n` +
        `id ${made.id}: ${shown(made)}${made.version === null ? ' (head at each use)' : ''}, until ${made.expiresAt}\n` +
        `anyone with the link may list and download it; revoke it with: dreamlake share revoke ${made.id}\n`,
    );
  });
}

function lastUse(s: ListedShare): string {
  return s.lastUsedAt === null ? 'never used' : `last ${s.lastUsedAt}`;
}

/** `dreamlake share ls [NS]`: the links of your namespaces (or of one), their use counts and last use. */
export async function shareLs(io: Io, namespace: string | undefined, options: SettingFlags & { json?: boolean }) {
  await withServer(io, options, async (api) => {
    const { shares } = await api.shares(namespace);
    if (options.json) {
      io.stdout.write(`${JSON.stringify(shares)}\n`);
      return;
    }
    if (shares.length === 0) {
      io.stdout.write(`no share links${namespace ? ` in ${namespace}` : ''}\n`);
      return;
    }
    const rows = shares.map((s) => [
      s.id,
      shown(s),
      s.expired ? `expired ${s.expiresAt}` : `until ${s.expiresAt}`,
      `${s.uses} use${s.uses === 1 ? '' : 's'}`,
      `${s.downloads} download${s.downloads === 1 ? '' : 's'}`,
      lastUse(s),
      `by ${s.createdBy}`,
    ]);
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
    const lines = rows.map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
    io.stdout.write(`${lines.join('\n')}\n`);
  });
}

/** `dreamlake share revoke ID`: the link stops working at once (URLs it handed out run to their expiry). */
export async function shareRevoke(io: Io, id: string, options: SettingFlags & { json?: boolean }) {
  await withServer(io, options, async (api) => {
    await api.revokeShare(id);
    io.stdout.write(options.json ? `${JSON.stringify({ id, revoked: true })}\n` : `revoked share link ${id}\n`);
  });
}

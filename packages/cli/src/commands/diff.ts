import type { DiffEntry } from '../api.ts';
import type { SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { UsageError } from '../errors.ts';
import { formatBytes } from '../progress.ts';
import { parseSpaceAt, showRef, type VersionedRef } from '../target.ts';
import { diffVersions, headVersion } from '../versions.ts';
import { withServer } from './server-session.ts';

const MARK = { added: '+', changed: '~', removed: '-' } as const;

function line(change: DiffEntry): string {
  const size =
    change.change === 'changed'
      ? `${formatBytes(change.before?.size ?? 0)} -> ${formatBytes(change.after?.size ?? 0)}`
      : formatBytes((change.after ?? change.before)?.size ?? 0);
  return `${MARK[change.change]} ${change.name}  (${size})`;
}

/**
 * `dreamlake diff NAMESPACE/SPACE@A NAMESPACE/SPACE[@B]`: the names that differ from version A to
 * version B (head when B has no `@`), in name order: `+` added, `~` changed, `-` removed.
 */
export async function diff(
  io: Io,
  fromText: string,
  toText: string | undefined,
  options: SettingFlags & { json?: boolean },
) {
  const from = parseSpaceAt(fromText);
  const to: VersionedRef =
    toText === undefined ? { namespace: from.namespace, space: from.space } : parseSpaceAt(toText);
  if (to.namespace !== from.namespace || to.space !== from.space)
    throw new UsageError(
      `a diff compares two snapshots of one space: "${toText}" is not in ${from.namespace}/${from.space}`,
    );
  if (from.version === undefined)
    throw new UsageError(`"${fromText}" names no snapshot: write NAMESPACE/SPACE@VERSION`);
  await withServer(io, options, async (api) => {
    const toVersion = to.version ?? (await headVersion(api, to));
    const changes = await diffVersions(api, from, from.version as number, toVersion);
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify({ namespace: from.namespace, space: from.space, from: from.version, to: toVersion, changes })}\n`,
      );
      return;
    }
    if (changes.length > 0) io.stdout.write(`${changes.map(line).join('\n')}\n`);
    const counts = { added: 0, changed: 0, removed: 0 };
    for (const change of changes) counts[change.change] += 1;
    io.stderr.write(
      `${showRef(from)} -> ${showRef({ ...to, version: toVersion })}: ${counts.added} added, ${counts.changed} changed, ${counts.removed} removed\n`,
    );
  });
}

import type { SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { UsageError } from '../errors.ts';
import { formatBytes } from '../progress.ts';
import { parseSpace } from '../target.ts';
import { snapshotHistory } from '../versions.ts';
import { withServer } from './server-session.ts';
import { countsText } from './snapshot-text.ts';

export interface LogOptions extends SettingFlags {
  json?: boolean;
  maxCount?: string;
}

function maxCountOf(text: string | undefined): number {
  if (text === undefined) return Number.POSITIVE_INFINITY;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError('-n/--max-count must be a whole number from 1');
  return n;
}

/**
 * `dreamlake log NAMESPACE/SPACE`: the space's snapshots, newest first, one line each
 * (`4  2026-12-07T10:00:00.000Z  ann  +600 ~0 -0  600 files  1.2 MiB  message`); `--json`: one array.
 */
export async function log(io: Io, spaceText: string, options: LogOptions): Promise<void> {
  const where = parseSpace(spaceText, 'log lists every snapshot of');
  const max = maxCountOf(options.maxCount);
  await withServer(io, options, async (api) => {
    const snapshots = await snapshotHistory(api, where, max);
    if (options.json) {
      io.stdout.write(`${JSON.stringify(snapshots)}\n`);
      return;
    }
    if (snapshots.length === 0) {
      io.stdout.write(`${where.namespace}/${where.space} has no snapshot yet\n`);
      return;
    }
    const rows = snapshots.map((s) => [
      String(s.version),
      s.createdAt,
      s.author,
      countsText(s),
      `${s.files} file${s.files === 1 ? '' : 's'}`,
      formatBytes(s.bytes),
      s.message,
    ]);
    const widths = [0, 1, 2, 3, 4, 5].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    const lines = rows.map((row) =>
      [
        ...row
          .slice(0, 6)
          .map((cell, i) => (i === 0 || i >= 4 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))),
        row[6],
      ]
        .join('  ')
        .trimEnd(),
    );
    io.stdout.write(`${lines.join('\n')}\n`);
  });
}

/**
 * The flags `upload` and `sync` share: the filters of the folder walk, symbolic links, the
 * bandwidth limit, and how the walk's notes are told (a link not followed, a loop, a FIFO, the count of
 * what the filters left out).
 */
import { parseRate } from '../bwlimit.ts';
import type { Io } from '../context.ts';
import type { GlobRule } from '../filters/globs.ts';
import { shownName } from '../shown-name.ts';
import type { SkippedEntry } from '../upload/files.ts';

export interface WalkFlags {
  /** `--exclude`/`--include` in command-line order (bin.ts collects both into this one list). */
  filter?: GlobRule[];
  /** False with `--no-default-ignores`. */
  defaultIgnores?: boolean;
  followSymlinks?: boolean;
  bwlimit?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** The walk's options from the flags. */
export function walkOptions(flags: WalkFlags): {
  rules: GlobRule[];
  defaultIgnores: boolean;
  followSymlinks: boolean;
} {
  return {
    rules: flags.filter ?? [],
    defaultIgnores: flags.defaultIgnores !== false,
    followSymlinks: Boolean(flags.followSymlinks),
  };
}

/** `--bwlimit` in bytes per second (undefined: no limit); a malformed rate is exit 2 naming the flag. */
export function bwlimitOf(flags: WalkFlags): number | undefined {
  return flags.bwlimit === undefined ? undefined : parseRate(flags.bwlimit);
}

/**
 * What the walk tells as it goes, written at once (before a run's display starts): each link
 * not followed, loop not walked, or FIFO, socket or device left out, on stderr (and with `--json` as an object on stdout); the
 * first link not followed also says, once, that links are not followed unless asked.
 */
export function skippedReporter(io: Io, flags: WalkFlags): (entry: SkippedEntry) => void {
  let said = false;
  return (entry) => {
    if (flags.json) io.stdout.write(`${JSON.stringify({ event: 'skipped', ...entry })}\n`);
    if (entry.reason === 'special') {
      io.stderr.write(
        `dreamlake: skipped ${shownName(entry.name)}: a ${entry.target}, not a file (left as it is in the space)\n`,
      );
      return;
    }
    if (entry.reason === 'loop') {
      io.stderr.write(
        `dreamlake: skipped ${shownName(entry.name)}: a link to a folder it is inside (a loop), not walked again\n`,
      );
      return;
    }
    io.stderr.write(
      `dreamlake: skipped ${shownName(entry.name)}: a symbolic link (to ${shownName(entry.target)}), not followed\n`,
    );
    if (!said && !flags.followSymlinks)
      io.stderr.write('dreamlake: symbolic links inside folders are not followed; --follow-symlinks follows them\n');
    said = true;
  };
}

import type { Io } from '../context.ts';
import { Progress } from '../progress.ts';

/** Without a terminal, a progress line for a long file at most this often. */
const PLAIN_PROGRESS_EVERY_MS = 10_000;

/**
 * The display of an upload, sync or download: live on a terminal, else a line now and then for a
 * file that takes a while; with `--json`, neither (stdout holds the JSON).
 */
export function transferProgress(io: Io, json: boolean | undefined): Progress {
  return new Progress({
    out: io.stdout,
    err: io.stderr,
    live: Boolean(io.stdout.isTTY) && !json,
    plainEveryMs: json ? undefined : PLAIN_PROGRESS_EVERY_MS,
    color: !io.env.NO_COLOR && Boolean(io.stdout.isTTY),
  });
}

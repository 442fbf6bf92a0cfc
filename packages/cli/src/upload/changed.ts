import { stat } from 'node:fs/promises';
import { CliError } from '../errors.ts';

/** What was seen of a file when it was hashed (a LocalFile is one: the size and mtime of its listing). */
export interface SeenFile {
  size: number;
  /** When known (a file named on the command line without a stat has none, and only its size is checked). */
  mtimeMs?: number | undefined;
  /** When known, the file's inode: a file replaced by another (an editor's save) is told apart. */
  ino?: number;
}

/** How a file differs from what was seen, or why it cannot be looked at any more. */
export interface FileChange {
  reason: 'gone' | 'not-a-file' | 'replaced' | 'size' | 'mtime' | 'unreadable';
  /** One line, for the log: `changed while being uploaded: 1200 bytes, now 1500`. */
  message: string;
}

/**
 * Re-stats `path` (following links, as reading it does) and tells how it moved from what was seen
 * when it was hashed, or null when it did not: called just before a file's bytes are sent and
 * just after, so that a file written to meanwhile is not stored under a hash its bytes do not
 * have. Size is checked before mtime (a grown file says how much).
 */
export async function fileChange(path: string, seen: SeenFile): Promise<FileChange | null> {
  let now: Awaited<ReturnType<typeof stat>>;
  try {
    now = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return { reason: 'gone', message: 'removed while being uploaded' };
    }
    return { reason: 'unreadable', message: `cannot be looked at any more: ${code ?? String(error)}` };
  }
  if (!now.isFile()) return { reason: 'not-a-file', message: 'no longer a file' };
  if (seen.ino !== undefined && now.ino !== seen.ino) {
    return { reason: 'replaced', message: 'replaced by another file while being uploaded' };
  }
  if (now.size !== seen.size) {
    return {
      reason: 'size',
      message: `changed while being uploaded: ${seen.size} bytes, now ${now.size}`,
    };
  }
  if (seen.mtimeMs !== undefined && now.mtimeMs !== seen.mtimeMs) {
    return {
      reason: 'mtime',
      message: `changed while being uploaded: modified at ${new Date(seen.mtimeMs).toISOString()}, now at ${new Date(now.mtimeMs).toISOString()}`,
    };
  }
  return null;
}

/** A file that moved under an upload: its name, and how. The run counts it failed and goes on with the others. */
export class FileChangedError extends CliError {
  readonly change: FileChange;

  constructor(name: string, change: FileChange) {
    super(`${name}: ${change.message}; upload it again once it is no longer being written`);
    this.change = change;
  }
}

/** Rejects with a FileChangedError naming `name` when the file moved from what was seen (see fileChange). */
export async function assertUnchanged(path: string, name: string, seen: SeenFile): Promise<void> {
  const change = await fileChange(path, seen);
  if (change) throw new FileChangedError(name, change);
}

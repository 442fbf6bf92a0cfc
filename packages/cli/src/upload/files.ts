import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CliError } from '../errors.ts';
import type { LocalFile } from './types.ts';

/** Entries of one folder looked at together (their stats run at once). */
const STAT_AT_ONCE = 64;

async function walk(dir: string, prefix: string, out: LocalFile[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let start = 0; start < entries.length; start += STAT_AT_ONCE) {
    const chunk = entries.slice(start, start + STAT_AT_ONCE);
    const infos = await Promise.all(
      chunk.map((entry) =>
        entry.isFile() || entry.isSymbolicLink()
          ? stat(join(dir, entry.name)).catch(() => null)
          : Promise.resolve(null),
      ),
    );
    for (const [i, entry] of chunk.entries()) {
      const path = join(dir, entry.name);
      const name = `${prefix}/${entry.name}`;
      const info = infos[i];
      if (entry.isDirectory()) await walk(path, name, out);
      else if (info?.isFile()) out.push({ path, name, size: info.size });
      else if (entry.isSymbolicLink() && info?.isDirectory()) await walk(path, name, out);
    }
  }
}

/**
 * The files to upload: a file is named by its base name; a folder's files by their path under
 * the folder's own name (`run42/sub/b.csv`), in sorted order.
 */
export async function collectFiles(paths: readonly string[]): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  for (const given of paths) {
    const path = resolve(given);
    const info = await stat(path).catch(() => null);
    if (!info) throw new CliError(`${given}: no such file or folder`);
    const name = basename(path);
    if (info.isDirectory()) await walk(path, name, out);
    else if (info.isFile()) out.push({ path, name, size: info.size });
    else throw new CliError(`${given}: not a file or folder`);
  }
  const seen = new Set<string>();
  for (const file of out) {
    if (seen.has(file.name)) throw new CliError(`two files would both be named "${file.name}" in the space`);
    seen.add(file.name);
  }
  return out;
}

/**
 * The list's files in order, each let go of as it is taken: a run over 100,000s of files then
 * holds only those under way, not the whole list until its end.
 */
export function* taking(files: Array<LocalFile | undefined>): Generator<LocalFile> {
  for (let i = 0; i < files.length; i += 1) {
    const file = files[i] as LocalFile;
    files[i] = undefined;
    yield file;
  }
}

import { readdir, stat } from 'node:fs/promises';
import { basename, resolve, sep } from 'node:path';
import { CliError } from '../errors.ts';
import type { LocalFile } from './types.ts';

/** Entries of one folder looked at together (their stats run at once). */
const STAT_AT_ONCE = 64;

/** A folder met by the walk: its path on disk and its name in the space, shared by its files. */
interface Folder {
  path: string;
  name: string;
}

/**
 * A file found by the walk. It keeps its folder and its own base name and builds its path and
 * name when asked: a path joined once per file and kept is a tree of a dozen strings (about 400
 * bytes with its name), several times this object, and a list holds 100,000s of them. Built by
 * `Array.prototype.join`, the path and name are flat strings.
 */
class ListedFile implements LocalFile {
  readonly #folder: Folder;
  readonly #base: string;
  readonly size: number;
  readonly mtimeMs: number;

  constructor(folder: Folder, base: string, size: number, mtimeMs: number) {
    this.#folder = folder;
    this.#base = base;
    this.size = size;
    this.mtimeMs = mtimeMs;
  }

  get path(): string {
    return [this.#folder.path, this.#base].join(sep);
  }

  get name(): string {
    return [this.#folder.name, this.#base].join('/');
  }
}

async function walk(folder: Folder, out: LocalFile[]): Promise<void> {
  const entries = await readdir(folder.path, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let start = 0; start < entries.length; start += STAT_AT_ONCE) {
    const chunk = entries.slice(start, start + STAT_AT_ONCE);
    const infos = await Promise.all(
      chunk.map((entry) =>
        entry.isFile() || entry.isSymbolicLink()
          ? stat([folder.path, entry.name].join(sep)).catch(() => null)
          : Promise.resolve(null),
      ),
    );
    for (const [i, entry] of chunk.entries()) {
      const info = infos[i];
      if (entry.isFile() || entry.isSymbolicLink()) {
        if (info?.isFile()) out.push(new ListedFile(folder, entry.name, info.size, info.mtimeMs));
        else if (info?.isDirectory()) await walk(subfolder(folder, entry.name), out);
      } else if (entry.isDirectory()) await walk(subfolder(folder, entry.name), out);
    }
  }
}

function subfolder(parent: Folder, base: string): Folder {
  return { path: [parent.path, base].join(sep), name: [parent.name, base].join('/') };
}

/**
 * The files to upload: a file is named by its base name; a folder's files by their path under
 * the folder's own name (`run42/sub/b.csv`), in sorted order. Each carries the size and mtime of
 * the stat that listed it.
 */
export async function collectFiles(paths: readonly string[]): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  const roots = new Set<string>();
  let sameRootNames = false;
  for (const given of paths) {
    const path = resolve(given);
    const info = await stat(path).catch(() => null);
    if (!info) throw new CliError(`${given}: no such file or folder`);
    const name = basename(path);
    sameRootNames ||= roots.has(name);
    roots.add(name);
    if (info.isDirectory()) await walk({ path, name }, out);
    else if (info.isFile()) out.push({ path, name, size: info.size, mtimeMs: info.mtimeMs });
    else throw new CliError(`${given}: not a file or folder`);
  }
  // Names start with their root's name, and a folder's entries differ: only roots of the same
  // name can give two files one name (a set of 100,000s of names is not built for nothing).
  if (sameRootNames) {
    const seen = new Set<string>();
    for (const file of out) {
      const { name } = file;
      if (seen.has(name)) throw new CliError(`two files would both be named "${name}" in the space`);
      seen.add(name);
    }
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

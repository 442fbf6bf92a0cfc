import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { basename, resolve, sep } from 'node:path';
import { fileNameProblem } from '@dreamlake/protocol';
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

/** An entry of a folder the walk did not take, and why: a symbolic link is never followed inside a folder. */
export interface SkippedEntry {
  reason: 'symlink';
  /** Where it is on disk. */
  path: string;
  /** The name it would have had in the space. */
  name: string;
  /** What the link points at, as written in it. */
  target: string;
}

export interface CollectOptions {
  /** Told of each entry left out (a symbolic link met inside a folder). */
  onSkipped?: (entry: SkippedEntry) => void;
}

/**
 * A folder's regular files and folders, depth first in sorted order. Symbolic links are not
 * followed (as rsync without -L): what they point at may be outside the folder (a key folder), or
 * above it (`..`, a walk without end). Each is reported and left out. Nor are sockets, FIFOs or
 * devices taken.
 */
async function walk(folder: Folder, out: LocalFile[], options: CollectOptions): Promise<void> {
  const entries = await readdir(folder.path, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let start = 0; start < entries.length; start += STAT_AT_ONCE) {
    const chunk = entries.slice(start, start + STAT_AT_ONCE);
    // lstat: an entry replaced by a link after the listing is seen as the link, not followed.
    const infos = await Promise.all(
      chunk.map((entry) =>
        entry.isFile() ? lstat([folder.path, entry.name].join(sep)).catch(() => null) : Promise.resolve(null),
      ),
    );
    for (const [i, entry] of chunk.entries()) {
      const info = infos[i];
      if (entry.isFile() && info?.isFile()) out.push(new ListedFile(folder, entry.name, info.size, info.mtimeMs));
      else if (entry.isDirectory()) await walk(subfolder(folder, entry.name), out, options);
      else if (entry.isSymbolicLink() || info?.isSymbolicLink()) await skipLink(folder, entry.name, options);
    }
  }
}

async function skipLink(folder: Folder, base: string, options: CollectOptions): Promise<void> {
  if (!options.onSkipped) return;
  const path = [folder.path, base].join(sep);
  const target = await readlink(path).catch(() => '?');
  options.onSkipped({ reason: 'symlink', path, name: [folder.name, base].join('/'), target });
}

function subfolder(parent: Folder, base: string): Folder {
  return { path: [parent.path, base].join(sep), name: [parent.name, base].join('/') };
}

/** Characters a terminal would not show as themselves, written as `\u{202E}`. */
const UNSHOWABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u115F\u1160\u3164\uFFA0]/gu;

/** A name as it can be printed: invisible, reordering and control characters escaped. */
export function shownName(name: string): string {
  return name.replace(UNSHOWABLE, (c) => `\\u{${(c.codePointAt(0) as number).toString(16).toUpperCase()}}`);
}

/** Names the space would refuse (the protocol's rule), found before anything is sent. */
function checkNames(files: readonly LocalFile[]): void {
  const refused: string[] = [];
  let count = 0;
  for (const file of files) {
    const { name } = file;
    const problem = fileNameProblem(name);
    if (problem === null) continue;
    count += 1;
    if (refused.length < 5) refused.push(`"${shownName(name)}" ${problem}`);
  }
  if (count === 0) return;
  const more = count > refused.length ? `; and ${count - refused.length} more` : '';
  throw new CliError(
    `${count === 1 ? 'a name' : `${count} names`} the space would refuse, nothing was sent: ${refused.join('; ')}${more}`,
  );
}

/**
 * The files to upload: a file is named by its base name; a folder's files by their path under
 * the folder's own name (`run42/sub/b.csv`), in sorted order. Each carries the size and mtime of
 * the stat that listed it. A path given here that is a symbolic link is followed (it was named);
 * links inside a folder are not (see walk). Refuses, before anything is sent, names the space
 * would refuse.
 */
export async function collectFiles(paths: readonly string[], options: CollectOptions = {}): Promise<LocalFile[]> {
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
    if (info.isDirectory()) await walk({ path, name }, out, options);
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
  checkNames(out);
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

import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { basename, resolve, sep } from 'node:path';
import { fileNameProblem } from '@dreamlake/protocol';
import { CliError } from '../errors.ts';
import { IGNORE_FILE_NAME } from '../filters/defaults.ts';
import { type FilterOptions, type FolderRules, WalkFilter } from '../filters/walk-filter.ts';
import { shownName } from '../shown-name.ts';
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
    return this.#folder.name === '' ? this.#base : [this.#folder.name, this.#base].join('/');
  }
}

/** A name under a folder's name (`''`: the walked folder of a sync, whose own name is not part of the names). */
function under(folderName: string, base: string): string {
  return folderName === '' ? base : [folderName, base].join('/');
}

/**
 * An entry of a folder the walk did not take, and why: a symbolic link is not followed inside a
 * folder (`symlink`, also a link that points nowhere when links are followed), with
 * `followSymlinks` a link to a folder the walk is already in (`loop`) is not walked again, and
 * a FIFO, socket or device (`special`) is not read: it holds no file's bytes.
 */
export interface SkippedEntry {
  reason: 'symlink' | 'loop' | 'special';
  /** Where it is on disk. */
  path: string;
  /** The name it would have had in the space. */
  name: string;
  /** What the link points at, as written in it; for `special`, what it is: `FIFO`, `socket` or `device`. */
  target: string;
}

/** A file or folder the filters left out (a folder left out is not walked into, and its files are not told of). */
export interface IgnoredEntry {
  /** Where it is on disk. */
  path: string;
  /** The name it would have had in the space. */
  name: string;
  folder: boolean;
}

export interface CollectOptions extends FilterOptions {
  /** Told of each entry left out (a symbolic link met inside a folder, a loop, a FIFO, socket or device). */
  onSkipped?: (entry: SkippedEntry) => void;
  /** Told of each file or folder the filters left out (`.dreamlakeignore` files themselves are not told of). */
  onIgnored?: (entry: IgnoredEntry) => void;
  /**
   * Follow symbolic links inside folders (as rsync -L): a link to a file is taken as that file,
   * under the link's name; a link to a folder is walked under the link's name, unless that
   * folder (by device and inode) is the one being walked or one of its parents, a loop, told of
   * as `loop` and not walked. A link that points nowhere is told of as `symlink`. Off by default.
   */
  followSymlinks?: boolean;
  /**
   * Names start with this (a folder in the space, `runs/2026/`, ending in `/`) instead of at
   * the space's root: `upload PATH… --to NS/SPACE/PREFIX/`.
   */
  prefix?: string;
}

/** What a walk carries down the folders. */
interface WalkState {
  options: CollectOptions;
  filter: WalkFilter;
  /** With followSymlinks: `dev:ino` of the folders being walked, the walked folder first. */
  ancestors: Set<string> | undefined;
  /** The rules of each folder that holds an ignore file, by its name relative to the walked folder. */
  folderRules?: Map<string, FolderRules>;
}

function fileId(info: Stats): string {
  return `${info.dev}:${info.ino}`;
}

/**
 * A folder's regular files and folders, depth first in sorted order, less what the filters
 * leave out (a folder left out is not read). Symbolic links are not followed unless asked (as
 * rsync without -L): what they point at may be outside the folder (a key folder), or above it
 * (`..`, a walk without end). Each is reported and left out. Nor are sockets, FIFOs or devices
 * taken: each is reported too, so that a sync keeps the space's file of that name. `rel` is the folder's name relative to the walked folder (`''` for the walked folder).
 */
async function walk(folder: Folder, rel: string, parentRules: FolderRules, out: LocalFile[], state: WalkState) {
  const { options, filter, ancestors } = state;
  const follow = ancestors !== undefined;
  const entries = await readdir(folder.path, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const ignoreFile = entries.find((entry) => entry.name === IGNORE_FILE_NAME && entry.isFile());
  const rules = ignoreFile
    ? await filter.withIgnoreFile(parentRules, rel, [folder.path, IGNORE_FILE_NAME].join(sep))
    : parentRules;
  if (ignoreFile) state.folderRules?.set(rel, rules);
  const ignores = filter.matcherFor(rules);
  for (let start = 0; start < entries.length; start += STAT_AT_ONCE) {
    const chunk = entries.slice(start, start + STAT_AT_ONCE);
    // lstat: an entry replaced by a link after the listing is seen as the link, not followed.
    // Following links, a folder or a link is stat'ed (through the link): its device and inode
    // tell a loop.
    const infos = await Promise.all(
      chunk.map((entry) => {
        const path = [folder.path, entry.name].join(sep);
        if (entry.isFile()) return lstat(path).catch(() => null);
        if (follow && (entry.isDirectory() || entry.isSymbolicLink())) return stat(path).catch(() => null);
        return Promise.resolve(null);
      }),
    );
    for (const [i, entry] of chunk.entries()) {
      const info = infos[i];
      if (entry.name === IGNORE_FILE_NAME && !entry.isDirectory()) continue;
      const link = entry.isSymbolicLink() || (entry.isFile() && info?.isSymbolicLink());
      // Followed only to a file or a folder (stat went through it); else told of as a link.
      const followed = link && follow && info && (info.isFile() || info.isDirectory());
      if (link && !followed) {
        await skipLink(folder, entry.name, 'symlink', options);
        continue;
      }
      const isFile = link ? info?.isFile() : entry.isFile() && info?.isFile();
      const isFolder = link ? info?.isDirectory() : entry.isDirectory();
      if (!isFile && !isFolder) {
        const kind = specialKind(entry);
        if (kind) options.onSkipped?.({ reason: 'special', ...named(folder, entry.name), target: kind });
        continue;
      }
      const name = rel === '' ? entry.name : [rel, entry.name].join('/');
      if (ignores(name, Boolean(isFolder))) {
        options.onIgnored?.({
          path: [folder.path, entry.name].join(sep),
          name: under(folder.name, entry.name),
          folder: Boolean(isFolder),
        });
        continue;
      }
      if (isFile && info) {
        out.push(new ListedFile(folder, entry.name, info.size, info.mtimeMs));
        continue;
      }
      if (!ancestors) {
        await walk(subfolder(folder, entry.name), name, rules, out, state);
        continue;
      }
      if (!info) continue; // gone since the listing
      const id = fileId(info);
      if (ancestors.has(id)) {
        await skipLink(folder, entry.name, 'loop', options);
        continue;
      }
      ancestors.add(id);
      try {
        await walk(subfolder(folder, entry.name), name, rules, out, state);
      } finally {
        ancestors.delete(id);
      }
    }
  }
}

/** What a FIFO, socket or device is (undefined for anything else: a file or folder gone since the listing). */
function specialKind(entry: Dirent): 'FIFO' | 'socket' | 'device' | undefined {
  if (entry.isFIFO()) return 'FIFO';
  if (entry.isSocket()) return 'socket';
  if (entry.isCharacterDevice() || entry.isBlockDevice()) return 'device';
  return undefined;
}

const named = (folder: Folder, base: string) => ({
  path: [folder.path, base].join(sep),
  name: under(folder.name, base),
});

async function skipLink(folder: Folder, base: string, reason: SkippedEntry['reason'], options: CollectOptions) {
  if (!options.onSkipped) return;
  const path = [folder.path, base].join(sep);
  const target = await readlink(path).catch(() => (reason === 'loop' ? path : '?'));
  options.onSkipped({ reason, path, name: under(folder.name, base), target });
}

function subfolder(parent: Folder, base: string): Folder {
  return { path: [parent.path, base].join(sep), name: under(parent.name, base) };
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
 * links inside a folder are not unless `followSymlinks` (see walk). A folder's files are
 * filtered (defaults, `.dreamlakeignore` files, `rules`: see WalkFilter); a file named here is
 * taken whatever the filters say. Refuses, before anything is sent, names the space would
 * refuse (names left out by the filters are not looked at).
 */
export async function collectFiles(paths: readonly string[], options: CollectOptions = {}): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  // Built before the walk: a bad --exclude/--include pattern stops the run before any folder is read.
  const filter = new WalkFilter(options);
  const roots = new Set<string>();
  let sameRootNames = false;
  for (const given of paths) {
    const path = resolve(given);
    const info = await stat(path).catch(() => null);
    if (!info) throw new CliError(`${given}: no such file or folder`);
    const name = `${options.prefix ?? ''}${basename(path)}`;
    sameRootNames ||= roots.has(name);
    roots.add(name);
    if (info.isDirectory()) {
      const ancestors = options.followSymlinks ? new Set([fileId(info)]) : undefined;
      await walk({ path, name }, '', WalkFilter.ROOT, out, { options, filter, ancestors });
    } else if (info.isFile()) out.push({ path, name, size: info.size, mtimeMs: info.mtimeMs });
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

/** A folder's files walked for a sync: their names, and what the walk knows to judge names it did not see. */
export interface FolderContents {
  files: LocalFile[];
  /** The filters of the walk (to judge names the other side has: see `excludes`). */
  filter: WalkFilter;
  /** The rules in force in each folder that holds an ignore file (`''`: the walked folder). */
  folderRules: Map<string, FolderRules>;
}

/**
 * The files of the folder `dir` named by their paths relative to it under `prefix` (`''`, or a
 * folder in the space ending in `/`): `dir`'s own name is not part of the names, as with
 * `aws s3 sync DIR s3://bucket/prefix`. Filtered and checked as collectFiles does. `dir` must be
 * a folder (CliError, exit code 2, naming it otherwise).
 */
export async function collectFolder(
  dir: string,
  prefix: string,
  options: CollectOptions = {},
): Promise<FolderContents> {
  const path = resolve(dir);
  const info = await stat(path).catch(() => null);
  if (!info) throw new CliError(`${dir}: no such folder`, 2);
  if (!info.isDirectory()) throw new CliError(`${dir}: not a folder (a sync mirrors a folder's contents)`, 2);
  const filter = new WalkFilter(options);
  const folderRules = new Map<string, FolderRules>();
  const files: LocalFile[] = [];
  const ancestors = options.followSymlinks ? new Set([fileId(info)]) : undefined;
  const root = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  await walk({ path, name: root }, '', WalkFilter.ROOT, files, { options, filter, ancestors, folderRules });
  checkNames(files);
  return { files, filter, folderRules };
}

/**
 * Whether the walk behind `contents` would have left out `rel` (a file's name relative to the
 * walked folder), had the folder held it: a folder on its way left out, the rules of the
 * deepest folder with an ignore file, or an ignore file itself. What a sync keeps of the other
 * side's names (it deletes only names the walk would have taken, as rclone does without
 * --delete-excluded). `cache` keeps one matcher per set of rules for a run.
 */
export function walkExcludes(
  contents: Pick<FolderContents, 'filter' | 'folderRules'>,
  rel: string,
  cache: Map<FolderRules, (name: string, folder: boolean) => boolean> = new Map(),
): boolean {
  const matcher = (rules: FolderRules) => {
    let m = cache.get(rules);
    if (!m) {
      m = contents.filter.matcherFor(rules);
      cache.set(rules, m);
    }
    return m;
  };
  const parts = rel.split('/');
  if (parts.at(-1) === IGNORE_FILE_NAME) return true;
  let rules = contents.folderRules.get('') ?? WalkFilter.ROOT;
  for (let i = 0; i < parts.length - 1; i += 1) {
    const folder = parts.slice(0, i + 1).join('/');
    if (matcher(rules)(folder, true)) return true;
    rules = contents.folderRules.get(folder) ?? rules;
  }
  return matcher(rules)(rel, false);
}

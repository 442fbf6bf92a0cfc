import { readFile } from 'node:fs/promises';
import ignore, { type Ignore } from 'ignore';
import { CliError } from '../errors.ts';
import { DEFAULT_IGNORES } from './defaults.ts';
import { compileGlobRules, type GlobRule, type GlobVerdict } from './globs.ts';
import { ignoreRules, parseIgnoreFile } from './ignore-file.ts';

/** What a folder walk leaves out, as given to `collectFiles` (and later to a sync). */
export interface FilterOptions {
  /** Leave out DEFAULT_IGNORES (`.DS_Store`, `.git/`, `*.pyc`, …); true unless set to false. */
  defaultIgnores?: boolean;
  /** `--exclude`/`--include` patterns in command-line order (see compileGlobRules). */
  rules?: readonly GlobRule[];
}

/** The rules of one ignore file and the folder they belong to (`''` for the walked folder, else `a/b/`). */
interface Scope {
  base: string;
  rules: Ignore;
}

/** The ignore files in force in one folder: its own and its parents', the deepest last. */
export type FolderRules = readonly Scope[];

/**
 * Decides, for a walk, which files and folders are left out. Names are relative to the walked
 * folder, `/` between folders (`sub/x.csv`). In order of precedence:
 * 1. `--exclude`/`--include` rules: the last that matches decides (a folder matched by an
 *    `--include 'name/'` is walked even if an ignore file leaves it out);
 * 2. `.dreamlakeignore` files, as git reads `.gitignore` files: a subfolder's file speaks of
 *    names relative to that subfolder and overrides its parents' files; within a file the last
 *    matching line wins; a file cannot be brought back from a folder left out;
 * 3. the default list (unless `defaultIgnores: false`).
 * A name nothing matches is taken. Unlike git, when a deeper file brings back a folder a parent's
 * file left out, the parent's file no longer speaks of that folder's contents.
 */
export class WalkFilter {
  readonly #globs: ((name: string, folder: boolean) => GlobVerdict) | undefined;
  readonly #defaults: Scope | undefined;

  constructor(options: FilterOptions = {}) {
    this.#globs = options.rules?.length ? compileGlobRules(options.rules) : undefined;
    this.#defaults = options.defaultIgnores === false ? undefined : { base: '', rules: ignoreRules(DEFAULT_IGNORES) };
  }

  /** The rules in force in the walked folder before its own ignore file is read. */
  static readonly ROOT: FolderRules = [];

  /**
   * The rules in force in a folder that holds an ignore file: its parent's and this file's.
   * `folder` is the folder's name relative to the walked folder (`''` for the walked folder).
   * A line the file cannot mean is a CliError (exit code 2) naming `file` and the line.
   */
  async withIgnoreFile(parent: FolderRules, folder: string, file: string): Promise<FolderRules> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new CliError(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    return [...parent, { base: folder === '' ? '' : `${folder}/`, rules: parseIgnoreFile(text, file) }];
  }

  /**
   * Whether the file or folder `name` (relative to the walked folder) is left out under `rules`.
   * Each call builds a matcher; a walk takes one per folder (matcherFor).
   */
  ignores(rules: FolderRules, name: string, folder: boolean): boolean {
    return this.matcherFor(rules)(name, folder);
  }

  /**
   * What decides for the entries of one folder under `rules`. The `ignore` package keeps the
   * answer for every name it is asked about; a matcher made for each folder and dropped with it
   * keeps a walk over 100,000s of files from holding all their names (copying the rules is cheap:
   * the compiled rules are shared).
   */
  matcherFor(rules: FolderRules): (name: string, folder: boolean) => boolean {
    const scopes: Scope[] = [];
    if (this.#defaults) scopes.push(this.#defaults);
    scopes.push(...rules);
    const fresh = scopes.map(({ base, rules: source }) => ({ base, rules: ignore({ ignoreCase: false }).add(source) }));
    return (name, folder) => this.#decide(fresh, name, folder);
  }

  #decide(scopes: readonly Scope[], name: string, folder: boolean): boolean {
    const verdict = this.#globs?.(name, folder);
    if (verdict) return verdict === 'exclude';
    for (let i = scopes.length - 1; i >= 0; i -= 1) {
      const scope = scopes[i] as Scope;
      const own = name.slice(scope.base.length);
      const result = scope.rules.test(folder ? `${own}/` : own);
      if (result.unignored) return false;
      if (!result.ignored) continue;
      // Left out because its folder is, by these rules: the walk is in that folder only because a
      // deeper file or a command-line rule brought it back, so these rules have no say here.
      const slash = own.lastIndexOf('/');
      if (slash > 0 && scope.rules.test(own.slice(0, slash + 1)).ignored) continue;
      return true;
    }
    return false;
  }
}

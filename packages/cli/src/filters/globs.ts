import picomatch from 'picomatch';
import { CliError } from '../errors.ts';

/** One `--exclude` or `--include` of a command line, in the order given. */
export interface GlobRule {
  kind: 'include' | 'exclude';
  pattern: string;
}

/** What the rules say of a name: the kind of the last rule that matches it, or undefined when none does. */
export type GlobVerdict = 'include' | 'exclude' | undefined;

interface CompiledRule {
  kind: GlobRule['kind'];
  folder: boolean;
  match: (name: string) => boolean;
}

/**
 * `--exclude`/`--include` patterns, matched (by picomatch) against a name relative to the walked
 * folder, with `/` between folders, as rclone's filters:
 * - `*` and `?` never cross a `/`; `**` does (`**\/*.csv` is every CSV at any depth);
 * - a pattern starting with `/` is anchored to the walked folder (`/data/*.csv`); any other
 *   matches the end of a name at a folder boundary (`*.csv` matches `a.csv` and `x/y/a.csv`);
 * - a pattern ending with `/` matches folders only (`--exclude 'cache/'` does not go into any
 *   folder named cache); any other matches files only;
 * - names starting with `.` are matched by `*` like any other; matching is case-sensitive; a
 *   leading `!` is literal.
 * The last rule that matches decides; a name no rule matches is left to the ignore rules.
 * An invalid pattern (an unclosed `[`, `{` or `(`, an empty one) is a CliError with exit code 2
 * naming the flag.
 */
export function compileGlobRules(rules: readonly GlobRule[]): (name: string, folder: boolean) => GlobVerdict {
  const compiled: CompiledRule[] = rules.map(({ kind, pattern }) => {
    const flag = `--${kind} ${JSON.stringify(pattern)}`;
    const folder = pattern.endsWith('/');
    let body = folder ? pattern.slice(0, -1) : pattern;
    const anchored = body.startsWith('/');
    if (anchored) body = body.slice(1);
    if (body === '') throw new CliError(`${flag}: an empty pattern`, 2);
    const options = { dot: true, nonegate: true, strictBrackets: true } as const;
    let match: (name: string) => boolean;
    try {
      const exact = picomatch(body, options);
      const anyDepth = anchored ? undefined : picomatch(`**/${body}`, options);
      match = anyDepth ? (name) => exact(name) || anyDepth(name) : exact;
    } catch (error) {
      throw new CliError(`${flag}: not a valid pattern: ${(error as Error).message}`, 2);
    }
    return { kind, folder, match };
  });
  return (name, folder) => {
    for (let i = compiled.length - 1; i >= 0; i -= 1) {
      const rule = compiled[i] as CompiledRule;
      if (rule.folder === folder && rule.match(name)) return rule.kind;
    }
    return undefined;
  };
}

import ignore, { type Ignore } from 'ignore';
import { CliError } from '../errors.ts';

/** What makes a line of an ignore file a rule that can never do what it says, or undefined when none. */
function lineProblem(pattern: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
  if (/[\u0000-\u0008\u000B-\u001F\u007F]/.test(pattern)) return 'a control character';
  // Trailing spaces are dropped unless escaped (as git does); what is left is the rule.
  const rule = pattern.replace(/(?<!\\)\s+$/, '');
  const body = rule.startsWith('!') ? rule.slice(1) : rule;
  if (body === '') return 'a "!" with no pattern after it';
  if (body === '/') return 'a pattern that is only "/" (it names nothing)';
  for (let i = 0; i < body.length; i += 1) {
    const c = body[i];
    if (c === '\\') {
      if (i === body.length - 1) return 'a backslash with nothing after it (write "\\\\" for a backslash)';
      i += 1;
    } else if (c === '[') {
      let j = i + 1;
      if (body[j] === '!' || body[j] === '^') j += 1;
      if (body[j] === ']') j += 1;
      while (j < body.length && body[j] !== ']') j += body[j] === '\\' ? 2 : 1;
      if (j >= body.length) return 'a "[" that is never closed (write "\\[" for a bracket)';
      i = j;
    }
  }
  return undefined;
}

/**
 * The rules of one `.dreamlakeignore` file (gitignore syntax: `#` comments, `!` negation, a
 * leading or inner `/` anchors the pattern to the file's folder, a trailing `/` matches folders
 * only, `**` crosses folders), matched by the `ignore` package, case-sensitive as names in a
 * space are. `source` names the file in errors: a line git would silently never match (a lone
 * `!`, a trailing backslash, an unclosed `[`) is refused with its file and line, exit code 2.
 */
export function parseIgnoreFile(text: string, source: string): Ignore {
  const rules = ignore({ ignoreCase: false });
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const problem = lineProblem(line);
    if (problem) throw new CliError(`${source}:${index + 1}: ${problem}: ${JSON.stringify(line)}`, 2);
    rules.add({ pattern: line, mark: `${source}:${index + 1}` });
  }
  return rules;
}

/** The given rules (gitignore syntax) as one matcher; used for the default list. */
export function ignoreRules(patterns: readonly string[]): Ignore {
  return ignore({ ignoreCase: false }).add(patterns);
}

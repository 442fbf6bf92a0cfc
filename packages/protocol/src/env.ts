/**
 * Rules for the settings both services read from the environment, so that one value means the
 * same to each of them.
 */

/** Words for on and off, case-insensitive; an empty value is "not set". */
export const FLAG_WORDS = { on: ['1', 'true', 'yes', 'on'], off: ['0', 'false', 'no', 'off'] } as const;

/** `true`/`false` for a flag's value; undefined when empty or unset; null when it is not a flag word. */
export function parseFlag(value: string | undefined): boolean | undefined | null {
  if (value === undefined) return undefined;
  const word = value.trim().toLowerCase();
  if (word === '') return undefined;
  if ((FLAG_WORDS.on as readonly string[]).includes(word)) return true;
  if ((FLAG_WORDS.off as readonly string[]).includes(word)) return false;
  return null;
}

export const FLAG_PROBLEM = `must be one of ${[...FLAG_WORDS.on, ...FLAG_WORDS.off].join(', ')}`;

/** A comma-separated list: items trimmed, empty items dropped. */
export function parseList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Smallest secret (presign, JWT) accepted outside dev mode, in bytes of UTF-8. */
export const MIN_SECRET_BYTES = 32;

const utf8 = new TextEncoder();

/** Why a secret is refused outside dev mode, or null. */
export function secretProblem(secret: string): string | null {
  if (secret === '') return 'is missing';
  if (utf8.encode(secret).length < MIN_SECRET_BYTES) return `is shorter than ${MIN_SECRET_BYTES} bytes`;
  return null;
}

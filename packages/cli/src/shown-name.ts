/** Characters a terminal would not show as themselves, written as `\u{202E}`. */
const UNSHOWABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u115F\u1160\u3164\uFFA0]/gu;

/** A name as it can be printed: invisible, reordering and control characters escaped. */
export function shownName(name: string): string {
  return name.replace(UNSHOWABLE, (c) => `\\u{${(c.codePointAt(0) as number).toString(16).toUpperCase()}}`);
}

/**
 * The canonical string a signature covers:
 *   ACTION ":" + join("&", sorted by key: KEY "=" enc(VALUE)) + ":" + EXP
 * where enc is UTF-8 with every byte outside A-Z a-z 0-9 - _ . ~ written as %XX (uppercase hex).
 */
const UNRESERVED = /[A-Za-z0-9\-_.~]/;
const ALL_UNRESERVED = /^[A-Za-z0-9\-_.~]*$/;

export function encode(value: string): string {
  if (ALL_UNRESERVED.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export type SignedParams = Readonly<Record<string, string>>;

/** The middle of the canonical string: the params sorted by key, encoded and joined. */
export function canonicalParams(params: SignedParams): string {
  return Object.keys(params)
    .sort()
    .map((key) => `${encode(key)}=${encode(params[key] as string)}`)
    .join('&');
}

export function canonicalString(action: string, params: SignedParams, exp: number): string {
  return `${action}:${canonicalParams(params)}:${exp}`;
}

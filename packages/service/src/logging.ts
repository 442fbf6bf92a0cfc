import type { FastifyServerOptions } from 'fastify';

const SECRET_QUERY = /([?&](?:sig|token|access_token|password)=)[^&]*/gi;
const REDACTED = '[REDACTED]';
/** Where a share link's secret is: the path segment after a leading `/s/` (`/s/dls_…`). */
const SHARE_PAGE = 's';
/** A share link secret's mark, in any case. */
const SHARE_MARK = /dls_/i;

/** `%XX` escapes decoded byte by byte (never throws): enough to see what a segment spells. */
const unescaped = (text: string) =>
  text.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/**
 * The URL with every secret query value, and any share link secret, replaced. A share secret is
 * found whatever its encoding (`/s/dls%5F…`, `/%73/%64ls_…`): the whole path segment after a
 * leading `/s/`, and any path segment or query part that spells `dls_` once unescaped, is
 * replaced (what follows it in the segment too).
 */
export function redactUrl(url: string): string {
  const at = url.indexOf('?');
  const path = at === -1 ? url : url.slice(0, at);
  const query = at === -1 ? '' : url.slice(at);
  const segments = path.split('/');
  const page = segments.findIndex((segment) => segment !== '' && segment !== '.');
  const redactedPath = segments
    .map((segment, i) => {
      const afterPage = i > 0 && i - 1 === page && unescaped(segments[page] ?? '') === SHARE_PAGE;
      return afterPage || SHARE_MARK.test(unescaped(segment)) ? REDACTED : segment;
    })
    .join('/');
  const redactedQuery = query.replace(SECRET_QUERY, `$1${REDACTED}`).replace(/([?&])([^&]*)/g, (whole, lead, part) => {
    if (!SHARE_MARK.test(unescaped(part))) return whole;
    const key = part.slice(0, part.indexOf('=') + 1);
    return `${lead}${SHARE_MARK.test(unescaped(key)) ? '' : key}${REDACTED}`;
  });
  return redactedPath + redactedQuery;
}

/**
 * Fastify logger options: requests are logged with method and redacted URL only (no headers),
 * and any Authorization header, cookie or password that reaches a log object is censored.
 */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  if (level === 'silent') return false;
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        '*.password',
        'password',
        '*.token',
        'token',
      ],
      censor: '[REDACTED]',
    },
    serializers: {
      req(request: { method: string; url: string; ip?: string }) {
        return { method: request.method, url: redactUrl(request.url), remoteAddress: request.ip };
      },
    },
  };
}

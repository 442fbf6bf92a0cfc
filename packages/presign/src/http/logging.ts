import type { FastifyServerOptions } from 'fastify';

const SECRET_QUERY = /([?&](?:sig|token|access_token|password)=)[^&]*/gi;
/** A share link's secret, which is part of its path (`/s/dls_…`). */
const SHARE_SECRET = /dls_[A-Za-z0-9_-]+/g;

/** The URL with every secret query value, and any share link secret, replaced. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[REDACTED]').replace(SHARE_SECRET, 'dls_[REDACTED]');
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

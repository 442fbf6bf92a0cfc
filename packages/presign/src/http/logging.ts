import type { FastifyServerOptions } from 'fastify';

const SECRET_QUERY = /([?&](?:sig|token|access_token|password)=)[^&]*/gi;

/** The URL with every secret query value replaced. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[REDACTED]');
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

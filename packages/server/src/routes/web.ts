import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DreamLakeError } from '@dreamlake/presign';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServerConfig } from '../config.ts';
import type { ServerContext } from '../context.ts';
import { assetParams, webConfig } from './answers.ts';
import { open, page } from './route-docs.ts';

/** Where `npm run build` puts the page (packages/web/dist). */
export const WEB_DIST_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const MEDIA_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

function originOf(url: string): string {
  return new URL(url).origin;
}

/**
 * The page's Content-Security-Policy: scripts only from this server (and WebAssembly for the
 * hashing worker), no inline script or style element, requests only to this server, BSS and the
 * configured upload origins, no framing, no forms posting elsewhere.
 */
export function contentSecurityPolicy(config: Pick<ServerConfig, 'bssPublicUrl' | 'webConnectOrigins'>): string {
  const connect = ["'self'", originOf(config.bssPublicUrl), ...config.webConnectOrigins.map(originOf)];
  return [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src ${[...new Set(connect)].join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The built files, read once: a fixed list, so no request path ever becomes a file path. */
function loadAssets(dir: string): Map<string, Buffer> {
  const assets = new Map<string, Buffer>();
  const assetDir = join(dir, 'assets');
  if (!existsSync(join(dir, 'index.html')) || !existsSync(assetDir)) return assets;
  assets.set('index.html', readFileSync(join(dir, 'index.html')));
  for (const name of readdirSync(assetDir)) {
    if (MEDIA_TYPES[extname(name)]) assets.set(`assets/${name}`, readFileSync(join(assetDir, name)));
  }
  return assets;
}

function notBuilt(): DreamLakeError {
  return new DreamLakeError('not_found', 'the web page is not built: run `npm run build`');
}

/** The web uploader's page, its static assets and the little configuration it reads. */
export function webRoutes(app: FastifyInstance, ctx: ServerContext, distDir = WEB_DIST_DIR): void {
  const assets = loadAssets(distDir);
  const csp = contentSecurityPolicy(ctx.config);
  const send = (reply: FastifyReply, name: string, cache: string): FastifyReply => {
    const body = assets.get(name);
    if (!body) throw assets.size === 0 ? notBuilt() : new DreamLakeError('not_found', 'no such file');
    return reply
      .header('content-type', MEDIA_TYPES[extname(name)] ?? 'application/octet-stream')
      .header('content-security-policy', csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', cache)
      .send(body);
  };

  app.get('/', { config: { doc: page('The web uploader') } }, async (_request, reply) =>
    send(reply, 'index.html', 'no-cache'),
  );
  const assetDoc = { ...page('A script, style sheet or source map of the web uploader'), params: assetParams };
  app.get<{ Params: { name: string } }>('/assets/:name', { config: { doc: assetDoc } }, async (request, reply) =>
    send(reply, `assets/${request.params.name}`, 'no-cache'),
  );
  const configDoc = open({ summary: 'What the web page needs to know', tags: ['web'], responses: { 200: webConfig } });
  app.get('/web/config.json', { config: { doc: configDoc } }, async (_request, reply) => {
    void reply.header('cache-control', 'no-store');
    return { allowSignup: ctx.config.allowSignup, bssOrigin: originOf(ctx.config.bssPublicUrl) };
  });
}

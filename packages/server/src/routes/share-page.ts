import { isDreamLakeError } from '@dreamlake/presign';
import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { ServerContext } from '../context.ts';
import {
  logShareUse,
  openShare,
  type SharedFile,
  type ShareInfo,
  shareFilesPage,
  shareInfo,
} from '../services/share-use.ts';
import { open } from './route-docs.ts';
import { shareSecretParams } from './shares.ts';
import { contentSecurityPolicy } from './web.ts';

/** Files on one page of a link's HTML page. */
export const SHARE_PAGE_FILES = 500;

export const sharePageQuery = z.object({
  cursor: z.string().max(2000).optional().describe('the `next` of the page before: the files after it'),
});

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

function formatSize(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}

function document(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function fileRow(secret: string, info: ShareInfo, file: SharedFile): string {
  const query = new URLSearchParams({ name: file.name });
  if (info.pinned) query.set('version', String(info.version));
  const href = `/s/${encodeURIComponent(secret)}/download?${query.toString()}`;
  return `<tr>
<th scope="row">${escapeHtml(file.name)}</th>
<td>${escapeHtml(formatSize(file.size))}</td>
<td><code>${file.hash}</code></td>
<td><a href="${escapeHtml(href)}" download aria-label="${escapeHtml(`Download ${file.name}`)}">Download</a></td>
</tr>`;
}

function sharePage(secret: string, info: ShareInfo, files: SharedFile[], next: string | undefined): string {
  const where = `${info.namespace}/${info.space}`;
  const version = info.pinned ? `${info.version}` : `${info.version} (head now; this link serves the newest version)`;
  const rows = files.map((f) => fileRow(secret, info, f)).join('\n');
  const more = next
    ? `<nav aria-label="Pages"><a href="/s/${encodeURIComponent(secret)}?cursor=${encodeURIComponent(next)}">Next page of files</a></nav>`
    : '';
  const body = `<h1>${escapeHtml(where)}</h1>
<p>Files shared from DreamLake, read-only. Each download is checked against its SHA-256 by <code>dreamlake download</code>; in a browser, compare it yourself.</p>
<dl>
<dt>Version</dt><dd id="version">${escapeHtml(version)}</dd>
<dt>manifestHash</dt><dd><code id="manifest-hash">${info.manifestHash}</code></dd>
${info.prefix ? `<dt>Files under</dt><dd>${escapeHtml(info.prefix)}</dd>\n` : ''}<dt>Link expires</dt><dd>${escapeHtml(info.expiresAt)}</dd>
</dl>
<table>
<caption>Files</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Size</th><th scope="col">SHA-256</th><th scope="col">Download</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="4">No files.</td></tr>'}
</tbody>
</table>
${more}`;
  return document(`${where} @ ${info.version} · DreamLake share`, body);
}

function errorPage(status: number, message: string): string {
  const heading = status === 410 ? 'This share link no longer works' : 'Share link not available';
  return document(heading, `<h1>${escapeHtml(heading)}</h1>\n<p>${escapeHtml(message)}</p>`);
}

/** A link's read-only page: the files it names with their sizes and SHA-256, a download button each. */
export function sharePageRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const csp = contentSecurityPolicy(ctx.config);
  const html = (reply: FastifyReply, status: number, body: string) =>
    reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-store')
      .send(body);

  const pageDoc = open({
    summary: 'A share link’s read-only page: its files, their sizes and SHA-256, a download button each',
    tags: ['shares'],
    params: shareSecretParams,
    query: sharePageQuery,
    responses: { 200: { mediaType: 'text/html', description: 'the page' } },
    errors: ['not_found', 'gone', 'rate_limited'],
  });
  app.get('/s/:secret', { config: { doc: pageDoc } }, async (request, reply) => {
    try {
      const { secret } = parseOrThrow(shareSecretParams, request.params, 'path');
      const { cursor } = parseOrThrow(sharePageQuery, request.query, 'query');
      const link = await openShare(ctx, secret);
      const info = await shareInfo(ctx, link);
      const page = await shareFilesPage(ctx, link, { limit: String(SHARE_PAGE_FILES), ...(cursor ? { cursor } : {}) });
      await logShareUse(ctx, link, request.ip);
      return html(reply, 200, sharePage(secret, info, page.files, page.next));
    } catch (error) {
      if (!isDreamLakeError(error) || error.status >= 500) throw error;
      const retryAfter = (error as { headers?: Record<string, string> }).headers?.['retry-after'];
      if (retryAfter) void reply.header('retry-after', retryAfter);
      return html(reply, error.status, errorPage(error.status, error.message));
    }
  });
}

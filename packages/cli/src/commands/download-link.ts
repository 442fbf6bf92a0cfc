import { resolve } from 'node:path';
import { parseRate } from '../bwlimit.ts';
import { loadSettings } from '../config.ts';
import type { Io } from '../context.ts';
import { LinkDownloader } from '../download/link-grants.ts';
import { parseShareLink, prefixFolder } from '../share-link.ts';
import { type DownloadOptions, manyFiles } from './download.ts';
import { retryTold } from './retry-told.ts';

/**
 * `dreamlake download LINK -o DIR`: everything a share link names, no account needed, as
 * `dreamlake download` brings a folder down (parallel, resumable, each file's SHA-256 checked).
 * The files go under `-o DIR` (default: the space's or the prefix's folder name here), at their
 * paths below the link's folder.
 */
export async function downloadLink(io: Io, linkText: string, options: DownloadOptions): Promise<void> {
  const link = parseShareLink(linkText);
  const settings = await loadSettings(io.env, options);
  const client = new LinkDownloader(link, {
    bwlimit: options.bwlimit === undefined ? undefined : parseRate(options.bwlimit),
    home: settings.home,
    retry: retryTold((line) => io.stderr.write(`${line}\n`)),
  });
  try {
    const { info, items } = await client.resolve();
    const where = { namespace: info.namespace, space: info.space };
    const folder = prefixFolder(info.prefix).split('/').filter(Boolean).pop() ?? info.space;
    const root = resolve((io.cwd ?? process.cwd)(), options.output ?? folder);
    if (!options.json)
      io.stderr.write(
        `${info.namespace}/${info.space}@${info.version}${info.prefix ? `/${info.prefix}` : ''}: ${items.length} files, manifestHash ${info.manifestHash}\n`,
      );
    await manyFiles(io, client, where, items, root, options);
  } finally {
    await client.close();
  }
}

import { createHash } from 'node:crypto';
import { UsageError } from './errors.ts';

/** A share link: the server it is on and its secret. */
export interface ShareLink {
  /** The server's base URL (no trailing slash). */
  server: string;
  secret: string;
}

const LINK_PATH = /^(.*)\/s\/(dls_[A-Za-z0-9_-]+)\/?$/;

/** Whether a command-line argument is a share link (`http(s)://…/s/dls_…`) rather than `NS/SPACE…`. */
export function isShareLink(text: string): boolean {
  return /^https?:\/\//i.test(text);
}

/** The server and secret of a share link; a usage error (exit 2) for anything else. */
export function parseShareLink(text: string): ShareLink {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`"${text}" is not a share link (https://SERVER/s/dls_…)`);
  }
  const match = LINK_PATH.exec(url.pathname);
  if (!/^https?:$/.test(url.protocol) || !match)
    throw new UsageError(`"${text}" is not a share link (https://SERVER/s/dls_…)`);
  return { server: `${url.origin}${match[1]}`, secret: match[2] as string };
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 24 * 3600 };

/** `30s`, `10m`, `12h`, `7d` in seconds; a usage error for anything else. */
export function parseDuration(text: string, flag = '--expires'): number {
  const match = /^([1-9][0-9]{0,8})([smhd])$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag} must be a whole number and a unit: 30s, 10m, 12h or 7d (not "${text}")`);
  return Number(match[1]) * (UNIT_SECONDS[match[2] as string] as number);
}

/** Seconds the way `--expires` takes them: `7d`, `12h`, `90m`, `45s` (the largest unit that divides it). */
export function formatSeconds(seconds: number): string {
  for (const [unit, size] of [
    ['d', 24 * 3600],
    ['h', 3600],
    ['m', 60],
  ] as const)
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}

/** The folder part of a link's prefix: `run42/` of `run42/a`, '' of `run`. Names are written below it. */
export function prefixFolder(prefix: string): string {
  return prefix.slice(0, prefix.lastIndexOf('/') + 1);
}

/** A manifest entry as docs/protocol.md ("Versions") hashes it. */
export interface ManifestEntry {
  name: string;
  hash: string;
  size: number;
  type: string;
  contentType: string;
}

/** The manifestHash of a version's entries: SHA-256 of their canonical lines in the UTF-8 byte order of the names. */
export function manifestHashOf(entries: readonly ManifestEntry[]): string {
  const sorted = [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.name, 'utf8'), Buffer.from(b.name, 'utf8')));
  const hash = createHash('sha256');
  for (const e of sorted) hash.update(`${JSON.stringify([e.name, e.hash, e.size, e.type, e.contentType])}\n`, 'utf8');
  return hash.digest('hex');
}

import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/** Device names Windows reserves in every folder, with or without an extension. */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
/** NUL, control characters, and what Windows refuses in a file name (`\` would also split a path there). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f<>:"|?*\\]/;

/**
 * Why a file name from the index may not become a path under the target folder, or undefined
 * when it may: every `/`-separated segment must be a plain name (not empty, `.` or `..`), the name
 * must not be absolute, and no segment may be a name Windows reserves or end in a dot or space.
 * The server enforces most of this already; the client checks again, whatever the index holds.
 */
export function unsafeNameReason(name: string): string | undefined {
  if (name === '') return 'the name is empty';
  if (name.includes('\u0000')) return 'the name contains a NUL character';
  if (name.startsWith('/') || isAbsolute(name) || /^[a-zA-Z]:/.test(name)) return 'the name is an absolute path';
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return `the name has a "${segment}" segment`;
    if (FORBIDDEN_CHARACTERS.test(segment)) return 'the name contains a control or reserved character';
    if (WINDOWS_RESERVED.test(segment)) return `"${segment}" is a reserved device name on Windows`;
    if (/[. ]$/.test(segment)) return `"${segment}" ends in a dot or a space`;
  }
  return undefined;
}

/** The name's path under `root` when it is safe (see unsafeNameReason), else the reason it is not. */
export function pathUnder(root: string, name: string): { path: string } | { reason: string } {
  const reason = unsafeNameReason(name);
  if (reason) return { reason };
  const path = resolve(root, ...name.split('/'));
  if (!isInside(resolve(root), path)) return { reason: 'the name resolves outside the target folder' };
  return { path };
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/**
 * Checks, on disk, that writing `path` (inside `root`) stays inside `root`: no folder on the way
 * is a symbolic link leading elsewhere, and the target itself is not a symbolic link. Answers the
 * reason when it would escape, undefined when it is safe.
 */
export async function escapesOnDisk(root: string, path: string): Promise<string | undefined> {
  const realRoot = await realpath(root).catch(() => resolve(root));
  const segments = relative(resolve(root), path).split(sep);
  let current = resolve(root);
  for (let i = 0; i < segments.length; i += 1) {
    current = join(current, segments[i] as string);
    const info = await lstat(current).catch(() => null);
    if (!info) return undefined;
    if (!info.isSymbolicLink()) continue;
    if (i === segments.length - 1) return `${current} is a symbolic link`;
    const real = await realpath(current).catch(() => null);
    if (!real || !isInside(realRoot, real)) return `${current} is a symbolic link leading outside the target folder`;
  }
  return undefined;
}

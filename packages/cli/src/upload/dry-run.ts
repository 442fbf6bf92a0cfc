import type { LookupState, ServerApi } from '../api.ts';
import { ApiError } from '../errors.ts';
import type { HashCache } from '../transfer/hash-cache.ts';
import { hashFile } from '../transfer/hash-file.ts';
import { choosePartSize } from '../transfer/plan.ts';
import { eachLimited } from '../transfer/pool.ts';
import { isMissingRoute } from './capabilities.ts';
import type { LocalFile, Target } from './types.ts';

/** Names asked about in one lookup (the server's most). */
const LOOKUP_FILES = 10_000;
const HASH_AT_ONCE = 4;

/** One line of `upload --dry-run`: what the upload would do with a file. */
export interface UploadPlanEntry {
  action: 'upload' | 'skip';
  name: string;
  size: number;
  hash: string;
  /**
   * `new`: its bytes would be sent; `stored`: the space holds its bytes under another name (a
   * name is added, nothing sent); `unchanged`: the space holds it under this name already.
   */
  reason: 'new' | 'stored' | 'unchanged';
}

/**
 * What `dreamlake upload` would do with `files`, asking the server nothing but which names and
 * hashes the space holds (one lookup per 10,000 files): each file hashed (through the hash
 * cache), then `upload` (new, or stored under another name) or `skip` (unchanged). Nothing is
 * sent or committed.
 */
export async function planUpload(
  api: ServerApi,
  cache: HashCache,
  files: readonly LocalFile[],
  target: Target,
): Promise<UploadPlanEntry[]> {
  const hashes: string[] = new Array(files.length);
  await eachLimited(
    files.map((file, i) => ({ file, i })),
    HASH_AT_ONCE,
    async ({ file, i }) => {
      const listed = file.mtimeMs === undefined ? undefined : { size: file.size, mtimeMs: file.mtimeMs };
      hashes[i] = (await hashFile(cache, file.path, choosePartSize(file.size), undefined, 0, listed)).digest.sha256;
    },
  );
  const out: UploadPlanEntry[] = [];
  for (let start = 0; start < files.length; start += LOOKUP_FILES) {
    const slice = files.slice(start, start + LOOKUP_FILES);
    let states: LookupState[] = [];
    try {
      states = (
        await api.lookupFiles(
          target.namespace,
          target.space,
          slice.map((f, i) => ({ name: f.name, hash: hashes[start + i] as string })),
        )
      ).files;
    } catch (error) {
      // A space not made yet (or not readable), or an older server: every file would be sent.
      if (!(isMissingRoute(error) || (error instanceof ApiError && (error.status === 403 || error.status === 404))))
        throw error;
    }
    slice.forEach((file, i) => {
      const state = states[i] ?? 'missing';
      const hash = hashes[start + i] as string;
      const base = { name: file.name, size: file.size, hash };
      if (state === 'indexed') out.push({ ...base, action: 'skip', reason: 'unchanged' });
      else out.push({ ...base, action: 'upload', reason: state === 'held' ? 'stored' : 'new' });
    });
  }
  return out;
}

import assert from 'node:assert/strict';
import type { DiffEntry, SnapshotView } from '@dreamlake/protocol';
import { type Harness, sha256 } from './harness.ts';

/** One entry of a version as a test expects it. */
export interface Expected {
  hash: string;
  size: number;
  type: string;
}

/** A space's versions as the test built them: `versions[v]` is version v's names (0: empty). */
export type Manifests = Array<Map<string, Expected>>;

export interface Owner {
  name: string;
  token: string;
}

export interface Changes {
  puts?: Array<{ name: string; hash: string; type: string; contentType?: string }>;
  deletes?: string[];
  deletePrefixes?: string[];
  message?: string;
  parent?: number;
}

/** Blobs the fake BSS holds for a space: `count` distinct hashes of `label`, each `size(i)` bytes. */
export function blobs(h: Harness, owner: Owner, space: string, label: string, count: number): Expected[] {
  return Array.from({ length: count }, (_, i) => {
    const hash = sha256(`${h.engine}-${owner.name}-${space}-${label}-${i}`);
    const size = 100 + i;
    h.bss.put(owner.name, space, hash, size);
    return { hash, size, type: 'files' };
  });
}

/** `POST …/commits`: a new snapshot of the changes (201), answered as its view. */
export async function commit(h: Harness, owner: Owner, space: string, changes: Changes): Promise<SnapshotView> {
  const res = await h.call('POST', `/namespaces/${owner.name}/spaces/${space}/commits`, owner.token, changes);
  assert.equal(res.statusCode, 201, res.body);
  return res.json().snapshot as SnapshotView;
}

/**
 * Commits `changes` on top of the last of `manifests` and appends the version they make, as the
 * test expects it (deletePrefixes, then deletes, then puts).
 */
export async function commitTracked(
  h: Harness,
  owner: Owner,
  space: string,
  manifests: Manifests,
  changes: { puts?: Array<{ name: string; blob: Expected }>; deletes?: string[]; deletePrefixes?: string[] },
): Promise<SnapshotView> {
  const next = new Map(manifests.at(-1));
  for (const prefix of changes.deletePrefixes ?? [])
    for (const name of [...next.keys()]) if (name.startsWith(prefix)) next.delete(name);
  for (const name of changes.deletes ?? []) next.delete(name);
  for (const { name, blob } of changes.puts ?? []) next.set(name, blob);
  const snapshot = await commit(h, owner, space, {
    puts: changes.puts?.map(({ name, blob }) => ({ name, hash: blob.hash, type: blob.type })),
    ...(changes.deletes ? { deletes: changes.deletes } : {}),
    ...(changes.deletePrefixes ? { deletePrefixes: changes.deletePrefixes } : {}),
  });
  assert.equal(snapshot.version, manifests.length, 'each commit makes the next version');
  manifests.push(next);
  return snapshot;
}

/** Every page of a paged GET, following `next`; `key` names the answer's array. */
export async function allPages<T>(
  h: Harness,
  token: string,
  path: string,
  params: Record<string, string>,
  key: string,
): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ ...params, ...(cursor ? { cursor } : {}) });
    const res = await h.call('GET', `${path}?${query}`, token);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    pages.push(body[key] as T[]);
    cursor = body.next;
  } while (cursor !== undefined && pages.length < 10_000);
  return pages;
}

/** The expected diff from manifest `a` to manifest `b`, in the order of `names` sorted. */
export function expectedDiff(a: Map<string, Expected>, b: Map<string, Expected>): DiffEntry[] {
  const names = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: DiffEntry[] = [];
  const side = (e: Expected) => ({ hash: e.hash, size: e.size, type: e.type, contentType: 'application/octet-stream' });
  for (const name of names) {
    const before = a.get(name);
    const after = b.get(name);
    if (before && after) {
      if (before.hash !== after.hash) out.push({ name, change: 'changed', before: side(before), after: side(after) });
    } else if (after) out.push({ name, change: 'added', after: side(after) });
    else if (before) out.push({ name, change: 'removed', before: side(before) });
  }
  return out;
}

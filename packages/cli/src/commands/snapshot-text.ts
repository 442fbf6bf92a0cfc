import type { CommitAnswer, SnapshotView } from '../api.ts';
import { formatBytes } from '../progress.ts';

/** `+3 ~1 -2`: what a snapshot changed against its parent. */
export function countsText(snapshot: SnapshotView): string {
  const { added, changed, removed } = snapshot.counts;
  return `+${added} ~${changed} -${removed}`;
}

/**
 * The line a write prints: the version it made, or the head it left as it was.
 * `ann/robotics@4: +600 ~0 -0, 600 files (1.2 MiB)`.
 */
export function commitText(where: { namespace: string; space: string }, answer: CommitAnswer): string {
  const space = `${where.namespace}/${where.space}`;
  const { snapshot } = answer;
  if (!snapshot) return `${space}: nothing changed, and it has no snapshot yet`;
  const sizes = `${snapshot.files} file${snapshot.files === 1 ? '' : 's'} (${formatBytes(snapshot.bytes)})`;
  if (!answer.created)
    return `${space}@${snapshot.version}: nothing changed, head stays version ${snapshot.version}, ${sizes}`;
  return `${space}@${snapshot.version}: snapshot ${snapshot.version} made, ${countsText(snapshot)}, ${sizes}`;
}

/** The `--json` line of a write: `{"event":"snapshot","created":…,"snapshot":…}`. */
export function commitJson(answer: CommitAnswer): string {
  return JSON.stringify({ event: 'snapshot', created: answer.created, snapshot: answer.snapshot });
}

import { fileNameProblem } from '@dreamlake/protocol';
import { UsageError } from './errors.ts';

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** A snapshot's version: a whole number from 1, as `dreamlake log` lists them. */
const VERSION = /^[1-9][0-9]*$/;

export interface SpaceRef {
  namespace: string;
  space: string;
}

/** A space at one of its snapshots (`NAMESPACE/SPACE@N`); no `version`: its head. */
export interface VersionedRef extends SpaceRef {
  version?: number;
}

function checkName(value: string, what: string, whole: string): string {
  if (!NAME.test(value)) throw new UsageError(`"${whole}": ${what} "${value}" must match ${NAME.source}`);
  return value;
}

/** The version written after `@` in `whole`: a usage error (exit 2) unless it is a whole number from 1. */
export function parseVersion(text: string, whole: string): number {
  const version = Number(text);
  if (!VERSION.test(text) || !Number.isSafeInteger(version))
    throw new UsageError(
      `"${whole}": ${text === '' ? 'nothing' : `"${text}"`} after "@" is not a version: write a whole number from 1 (\`dreamlake log\` lists them)`,
    );
  return version;
}

/** `SPACE` or `SPACE@N` (the second segment of a target). */
function spaceSegment(segment: string, whole: string): { space: string; version?: number } {
  const at = segment.indexOf('@');
  if (at === -1) return { space: checkName(segment, 'space', whole) };
  return {
    space: checkName(segment.slice(0, at), 'space', whole),
    version: parseVersion(segment.slice(at + 1), whole),
  };
}

/** Refuses `@N` where only a space's head makes sense (where things are written). */
function headOnly(ref: VersionedRef, whole: string, what: string): void {
  if (ref.version !== undefined)
    throw new UsageError(`"${whole}": ${what} a space's head, not one of its snapshots: leave out "@${ref.version}"`);
}

function spaceAt(namespace: string, segment: string, whole: string): VersionedRef {
  const ns = checkName(namespace, 'namespace', whole);
  const { space, version } = spaceSegment(segment, whole);
  return { namespace: ns, space, ...(version !== undefined ? { version } : {}) };
}

/** `NAMESPACE/SPACE[@N]`. */
export function parseSpaceAt(text: string): VersionedRef {
  const parts = text.split('/');
  if (parts.length !== 2) throw new UsageError(`"${text}" is not NAMESPACE/SPACE`);
  return spaceAt(parts[0] ?? '', parts[1] ?? '', text);
}

/** `NAMESPACE/SPACE` (a space's head: where an upload, a removal or a restore writes). */
export function parseSpace(text: string, what = 'this writes to'): SpaceRef {
  const ref = parseSpaceAt(text);
  headOnly(ref, text, what);
  return { namespace: ref.namespace, space: ref.space };
}

/** `NAMESPACE/SPACE@N`: a snapshot, its version required. */
export function parseSnapshot(text: string): SpaceRef & { version: number } {
  const ref = parseSpaceAt(text);
  if (ref.version === undefined) throw new UsageError(`"${text}" names no snapshot: write NAMESPACE/SPACE@VERSION`);
  return { namespace: ref.namespace, space: ref.space, version: ref.version };
}

/** `NAMESPACE/SPACE/NAME`, where NAME may itself contain slashes (at the space's head). */
export function parseFileRef(text: string): SpaceRef & { name: string } {
  const parts = text.split('/');
  if (parts.length < 3 || parts.slice(2).some((p) => p === ''))
    throw new UsageError(`"${text}" is not NAMESPACE/SPACE/NAME`);
  const { space, version } = spaceSegment(parts[1] ?? '', text);
  headOnly({ namespace: '', space, ...(version !== undefined ? { version } : {}) }, text, 'this writes to');
  return {
    namespace: checkName(parts[0] ?? '', 'namespace', text),
    space,
    name: parts.slice(2).join('/'),
  };
}

/** `NAMESPACE/SPACE[@N][/PATH]`: PATH may hold slashes, and ends in `/` to name a folder. */
export function parseSpacePath(text: string): VersionedRef & { path: string } {
  const [namespace = '', space = '', ...rest] = text.split('/');
  if (space === '' && rest.length === 0) throw new UsageError(`"${text}" is not NAMESPACE/SPACE`);
  return { ...spaceAt(namespace, space, text), path: rest.join('/') };
}

/** How a target is shown back: `ns/space`, or `ns/space@N` at a snapshot. */
export function showRef(ref: VersionedRef): string {
  return `${ref.namespace}/${ref.space}${ref.version !== undefined ? `@${ref.version}` : ''}`;
}

/** A folder of a space's head that names are written under: `prefix` is `''` or ends in `/`. */
export interface SpaceFolder extends SpaceRef {
  prefix: string;
}

/**
 * `NAMESPACE/SPACE[/FOLDER[/]]` where something is written (a sync, `upload --to`): the folder
 * is a name prefix (`runs/2026/`), `''` for the space's root. `@N` and a folder that is not a
 * valid name (an empty, `.` or `..` segment, a control character: the protocol's rule) are
 * usage errors naming the rule.
 */
export function parseSpaceFolder(text: string, what = 'this writes to'): SpaceFolder {
  const ref = parseSpacePath(text);
  headOnly(ref, text, what);
  return { namespace: ref.namespace, space: ref.space, prefix: folderPrefix(ref.path, text) };
}

/**
 * The PATH of `text` as a folder's name prefix: `''` for the space's root, else ending in `/`
 * (`run4` is `run4/`, never also `run42/` or `run4.csv`); a usage error naming the rule for a
 * folder that is not a valid name.
 */
export function folderPrefix(path: string, text: string): string {
  const body = path.endsWith('/') ? path.slice(0, -1) : path;
  if (body === '') return '';
  const problem = fileNameProblem(body);
  if (problem !== null) throw new UsageError(`"${text}": the folder "${body}" is not a valid name: a name ${problem}`);
  return `${body}/`;
}

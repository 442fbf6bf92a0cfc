/**
 * What a model-based run knows: the genuine files (bytes, SHA-256, size), the forged bodies it
 * may send instead, every upload and staged single-shot object it opened, and every scope it
 * signed a URL for. The promise it checks after every step:
 *
 *   A blob is published only when its bytes hash to the signed SHA-256, its size is the signed
 *   size, and nothing outside a signed scope changed.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { MIN_PART_SIZE } from '@dreamlake/protocol';
import type { Inventory, Via } from './harness.ts';

export const OWNER = 'inv';
export const PROJECTS = ['p1', 'p2'] as const;
export type Project = (typeof PROJECTS)[number];

/** Deterministic bytes for a seed and a label: every run and every replay of it sends the same ones. */
export function bytesFor(seed: number, label: string, length: number): Buffer {
  const key = createHash('sha256').update(`${seed}:${label}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/** `length` bytes that differ from `right` (the same length when it is right's). */
export function forgedBytes(seed: number, label: string, length: number, right: Buffer): Buffer {
  const bytes = bytesFor(seed, `forged:${label}`, length);
  if (length > 0 && length === right.length && bytes.equals(right)) bytes[0] = (bytes[0] ?? 0) ^ 0xff;
  return bytes;
}

export interface Genuine {
  index: number;
  bytes: Buffer;
  hash: string;
  size: number;
  /** Its parts as a client splits it (MIN_PART_SIZE each, the last shorter). */
  parts: Buffer[];
}

export function genuineFile(index: number, seed: number, size: number): Genuine {
  const bytes = bytesFor(seed, `genuine:${index}`, size);
  const parts: Buffer[] = [];
  for (let at = 0; at < size || parts.length === 0; at += MIN_PART_SIZE)
    parts.push(bytes.subarray(at, at + MIN_PART_SIZE));
  return { index, bytes, hash: createHash('sha256').update(bytes).digest('hex'), size, parts };
}

/** One PUT the run made to a part URL, and what BSS or S3 answered. */
export interface SentPart {
  partNumber: number;
  body: 'right' | 'forged';
  status: number;
  etag?: string;
}

export interface ModelUpload {
  /** Its place in `uploads` (commands pick uploads by it). */
  n: number;
  file: Genuine;
  project: Project;
  /** Whether its URLs sign the file's size. */
  sized: boolean;
  via: Via;
  /** Set when init answered 200. */
  key?: string;
  uploadId?: string;
  sent: SentPart[];
  /** Known to be over: completed, aborted or swept (it stays a target: a late request must be refused). */
  closed?: boolean;
}

/** A single-shot body staged in S3 (the staging key and the URL the client may PUT to until it expires). */
export interface ModelStaged {
  n: number;
  file: Genuine;
  project: Project;
  key: string;
  url: string;
  headers: Record<string, string>;
}

/** Counts of what the runs did, to show they reached the paths that publish and the ones that refuse. */
export interface Stats {
  runs: number;
  steps: number;
  answers: Record<string, number>;
}

export function newStats(): Stats {
  return { runs: 0, steps: 0, answers: {} };
}

/** Counts one answer under its request and status (and error code, for a refusal). */
export function count(
  stats: Stats,
  what: string,
  answer: { status: number; text?: string; json?(): Record<string, unknown> },
): void {
  const { status } = answer;
  const code =
    (answer.json?.().error as { code?: string } | undefined)?.code ??
    (answer.text ? /<Code>([A-Za-z]+)<\/Code>/.exec(answer.text)?.[1] : undefined);
  const name = `${what} ${status >= 200 && status < 300 ? '2xx' : `${status}${code ? ` ${code}` : ''}`}`;
  stats.answers[name] = (stats.answers[name] ?? 0) + 1;
}

export interface Model {
  seed: number;
  files: Genuine[];
  uploads: ModelUpload[];
  staged: ModelStaged[];
  /** `owner/project/hash` of every scope the run signed a URL for. */
  signed: Set<string>;
  stats: Stats;
}

export function scopeId(project: string, hash: string): string {
  return `${OWNER}/${project}/${hash}`;
}

/** The files a 2xx answer or a blob may be: its hash must be one of them, signed for that scope. */
function genuineByHash(model: Model): Map<string, Genuine> {
  return new Map(model.files.map((file) => [file.hash, file]));
}

/** Every way `inventory` breaks the promise, as lines (empty when it holds). */
export function violations(model: Model, inventory: Inventory): string[] {
  const out: string[] = [];
  const byHash = genuineByHash(model);
  for (const blob of inventory.blobs) {
    const where = `blob ${blob.owner}/${blob.project}/${blob.hash.slice(0, 12)}…`;
    if (!model.signed.has(scopeId(blob.project, blob.hash)) || blob.owner !== OWNER) {
      out.push(`${where} lies outside every scope the run signed`);
    }
    if (blob.sha256 !== blob.hash) out.push(`${where} holds bytes whose SHA-256 is ${blob.sha256.slice(0, 12)}…`);
    const genuine = byHash.get(blob.hash);
    if (!genuine) out.push(`${where} is for a hash the run never signed`);
    else {
      if (blob.length !== genuine.size)
        out.push(`${where} serves ${blob.length} bytes, the signed size is ${genuine.size}`);
      if (blob.statedSize !== genuine.size) {
        out.push(`${where} says its size is ${blob.statedSize}, the signed size is ${genuine.size}`);
      }
    }
  }
  for (const scope of inventory.uploadScopes) {
    if (!model.signed.has(scope)) out.push(`an upload or staged object under ${scope} lies outside every signed scope`);
  }
  for (const stray of inventory.strays) out.push(`the storage holds ${stray}, which is no blob, upload or temporary`);
  return out;
}

/** A 2xx publish answer (complete or single-shot) must name the signed blob, and that blob must be genuine. */
export function answerViolations(
  project: Project,
  file: Genuine,
  answer: Record<string, unknown>,
  inventory: Inventory,
): string[] {
  const out: string[] = [];
  if (answer.hash !== file.hash)
    out.push(`a 2xx answer names hash ${String(answer.hash)}, the signed one is ${file.hash}`);
  if (answer.size !== file.size)
    out.push(`a 2xx answer says ${String(answer.size)} bytes, the signed size is ${file.size}`);
  const blob = inventory.blobs.find((b) => b.owner === OWNER && b.project === project && b.hash === file.hash);
  if (!blob) out.push(`a 2xx answer for ${scopeId(project, file.hash.slice(0, 12))}… but no such blob is stored`);
  else if (blob.sha256 !== file.hash || blob.length !== file.size) {
    out.push(`a 2xx answer for ${scopeId(project, file.hash.slice(0, 12))}… whose blob is not the genuine file`);
  }
  return out;
}

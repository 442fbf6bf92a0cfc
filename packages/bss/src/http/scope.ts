import { DreamLakeError } from '@dreamlake/presign';
import { MAX_PART_SIZE } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseMultipartKey, parseUploadKey } from '../storage/keys.ts';
import { fullHash, name, singleQuery } from './schemas.ts';

/** The owner, project and hash a request may act on. */
export interface Scope {
  owner: string;
  project: string;
  hash: string;
}

interface ScopeEcho {
  owner?: string | undefined;
  project?: string | undefined;
  hash?: string | undefined;
}

const signedScopeSchema = z.object({ owner: name, project: name, hash: fullHash });

/** The verified signed scope, or null for an unsigned request let through by the rollout switch. */
export function signedScope(request: FastifyRequest): Scope | null {
  if (!request.presign) return null;
  return parseOrThrow(signedScopeSchema, request.presign.params, 'signed parameters');
}

/** A body or query may repeat the scope, but never name another one. */
export function refuseOtherScope(scope: Scope, echo: ScopeEcho): void {
  for (const field of ['owner', 'project', 'hash'] as const) {
    const value = echo[field];
    if (value !== undefined && value !== scope[field]) {
      throw new DreamLakeError('scope_mismatch', `${field} "${value}" is outside the signed scope`);
    }
  }
}

type KeyParser = (key: string) => Scope | null;

function scopeOfKey(request: FastifyRequest, input: ScopeEcho & { key: string }, parse: KeyParser, what: string) {
  const signed = signedScope(request);
  const parsed = parse(input.key);
  if (signed) {
    refuseOtherScope(signed, input);
    if (!parsed || parsed.owner !== signed.owner || parsed.project !== signed.project || parsed.hash !== signed.hash) {
      throw new DreamLakeError('scope_mismatch', `key is not ${what} of the signed scope`);
    }
    return signed;
  }
  if (!parsed) {
    if (parseUploadKey(input.key)) throw new DreamLakeError('scope_mismatch', `key is not ${what}`);
    throw new DreamLakeError('invalid_request', 'key is not an upload key');
  }
  const scope = { owner: parsed.owner, project: parsed.project, hash: parsed.hash };
  refuseOtherScope(scope, input);
  return scope;
}

/**
 * The scope an upload request acts on. Signed: the signed params, and the key must name exactly
 * them (else 403 scope_mismatch). Unsigned (legacy rollout): what the key names.
 */
export function uploadScope(request: FastifyRequest, input: ScopeEcho & { key: string }): Scope {
  return scopeOfKey(request, input, parseUploadKey, 'an upload key');
}

/**
 * The scope a multipart step acts on, as `uploadScope`, and the key must be a multipart upload's:
 * never a single-shot staging key or a private copy in the same folder (403 scope_mismatch), which
 * a complete would otherwise verify and publish while their client can still PUT to them.
 */
export function multipartUploadScope(request: FastifyRequest, input: ScopeEcho & { key: string }): Scope {
  return scopeOfKey(request, input, parseMultipartKey, 'a multipart upload key');
}

/** The signed scope and size of an upload-single request; refused past one part's 5 GiB. */
export function signedSingle(request: FastifyRequest): Scope & { size: number } {
  const signed = parseOrThrow(singleQuery, request.presign?.params, 'signed parameters');
  if (signed.size > MAX_PART_SIZE) {
    throw new DreamLakeError(
      'too_large',
      `a single-shot upload may be at most ${MAX_PART_SIZE} bytes; use a multipart upload`,
      {
        maxSize: MAX_PART_SIZE,
      },
    );
  }
  return signed;
}

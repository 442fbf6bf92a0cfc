import type { RawContent, RouteDoc } from '@dreamlake/service';
import { typeParams, uploadQuery } from './answers.ts';

/**
 * The kinds of route BSS has, for the doc each route is registered with
 * (`{ config: { doc: signed({ … }) } }`, read by `describeRoutes` into `/openapi.json`).
 */

const SIGNATURE_ERRORS = ['missing_signature', 'malformed_signature', 'bad_signature', 'expired_signature'] as const;

type DocOf<Omitted extends keyof RouteDoc> = Omit<RouteDoc, Omitted> & { errors?: RouteDoc['errors'] };

/** A route behind a URL the server signed: the refusals of a signature, and the route's own. */
export const signed = (doc: DocOf<'auth' | 'errors'>): RouteDoc => ({
  ...doc,
  auth: 'presigned',
  errors: ['invalid_request', ...SIGNATURE_ERRORS, 'scope_mismatch', 'not_found', ...(doc.errors ?? [])],
});

/** A route anyone may call. */
export const open = (doc: DocOf<'auth'>): RouteDoc => ({ ...doc, auth: 'none' });

/** One of the five multipart upload URLs, at `/{type}/upload/multipart/…`. */
export const upload = (summary: string, doc: DocOf<'auth' | 'errors' | 'summary' | 'tags' | 'params'>): RouteDoc =>
  signed({ summary, tags: ['uploads'], params: typeParams, query: uploadQuery, ...doc });

/** A body of bytes, not JSON. */
export const bytes = (description: string, mediaType = 'application/octet-stream'): RawContent => ({
  mediaType,
  description,
});

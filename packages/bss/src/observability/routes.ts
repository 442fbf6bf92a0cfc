import type { RawContent, RouteDoc, RouteTable } from '@dreamlake/service';
import { abortBody, completeBody, initBody, partsBody, singleBody, singleCompleteBody } from '../http/schemas.ts';
import * as s from './answers.ts';

/**
 * Every route of BSS as the OpenAPI document (`/openapi.json`) describes it, by `METHOD /url`
 * exactly as registered. A route missing here is left out of the document and fails the test
 * that compares the two: describe a new route by adding its line.
 */

const SIGNATURE_ERRORS = ['missing_signature', 'malformed_signature', 'bad_signature', 'expired_signature'] as const;

const signed = (doc: Omit<RouteDoc, 'auth' | 'errors'> & { errors?: RouteDoc['errors'] }): RouteDoc => ({
  ...doc,
  auth: 'presigned',
  errors: ['invalid_request', ...SIGNATURE_ERRORS, 'scope_mismatch', 'not_found', ...(doc.errors ?? [])],
});
const open = (doc: Omit<RouteDoc, 'auth'>): RouteDoc => ({ ...doc, auth: 'none' });
const upload = (summary: string, doc: Omit<RouteDoc, 'auth' | 'summary' | 'tags' | 'params'>): RouteDoc =>
  signed({ summary, tags: ['uploads'], params: s.typeParams, query: s.uploadQuery, ...doc });

const bytes = (description: string, mediaType = 'application/octet-stream'): RawContent => ({ mediaType, description });

export const BSS_ROUTES: RouteTable = {
  'GET /healthz': open({ summary: 'Alive: the process answers', tags: ['operations'], responses: { 200: s.health } }),
  'GET /readyz': open({
    summary: 'Ready: the storage folder is writable, or the bucket answers (503 storage_unavailable when not)',
    tags: ['operations'],
    responses: { 200: s.readiness },
    errors: ['storage_unavailable'],
  }),
  'GET /metrics': {
    summary: 'Prometheus metrics of this process',
    tags: ['operations'],
    auth: 'metricsToken',
    responses: { 200: bytes('Prometheus text exposition format 0.0.4', 'text/plain') },
    errors: ['unauthorized', 'forbidden'],
  },
  'GET /openapi.json': open({ summary: 'This document', tags: ['operations'], responses: { 200: 'OpenAPI 3.1 JSON' } }),

  'POST /:type/upload/multipart/init': upload('Open a multipart upload (says exists, with a receipt, when stored)', {
    body: initBody,
    responses: { 200: s.initAnswer },
    errors: ['too_large', 'storage_unavailable'],
  }),
  'POST /:type/upload/multipart/parts': upload('Signed URLs for the named parts', {
    body: partsBody,
    responses: { 200: s.partsAnswer },
    errors: ['too_large'],
  }),
  'GET /:type/upload/multipart/parts-done': upload('The parts received so far (resume)', {
    query: s.partsDoneQuery,
    responses: { 200: s.partsDoneAnswer },
  }),
  'POST /:type/upload/multipart/complete': upload('Assemble and verify the parts, then publish the blob', {
    body: completeBody,
    responses: { 200: s.blobAnswer },
    errors: ['invalid_part', 'entity_too_small', 'hash_mismatch', 'too_large', 'conflict', 'storage_unavailable'],
  }),
  'POST /:type/upload/multipart/abort': upload('Drop an open upload and its parts', {
    body: abortBody,
    responses: { 200: s.abortAnswer },
  }),
  'PUT /upload/part': signed({
    summary: 'One part body, at the URL /parts answered (disk backend)',
    tags: ['uploads'],
    query: s.partUrlQuery,
    headers: s.contentMd5Header,
    body: bytes('the part, at most maxLength bytes'),
    responses: { 200: 'stored; the ETag header names the part' },
    errors: ['invalid_part', 'too_large', 'conflict', 'storage_unavailable'],
  }),
  'POST /:type/upload/single': signed({
    summary: 'Where to send a single-shot body: back to BSS (put) or to the bucket (s3)',
    tags: ['uploads'],
    params: s.typeParams,
    query: s.singleQuery,
    body: singleBody,
    responses: { 200: s.singleAnswer },
    errors: ['too_large', 'not_implemented'],
  }),
  'PUT /:type/upload/single': signed({
    summary:
      'A single-shot body of exactly the signed size, verified and published (disk backend; S3 up to the size its POST answer names)',
    tags: ['uploads'],
    params: s.typeParams,
    query: s.singleQuery,
    body: bytes('the whole blob; its Content-Type is the blob’s'),
    responses: { 200: s.blobAnswer },
    errors: [
      'invalid_part',
      'too_large',
      'hash_mismatch',
      'conflict',
      'unsupported_media_type',
      'storage_unavailable',
      'unavailable',
    ],
  }),
  'POST /:type/upload/single/body': signed({
    summary:
      'The PUT above as a browser’s simple request (no CORS preflight): the body as it is, whatever its own Content-Type, the blob’s type in the query',
    tags: ['uploads'],
    params: s.typeParams,
    query: s.singleBodyQuery,
    body: bytes(
      'the whole blob; sent as text/plain by browsers, stored with the contentType of the query',
      'text/plain',
    ),
    responses: { 200: s.blobAnswer },
    errors: ['invalid_part', 'too_large', 'hash_mismatch', 'conflict', 'storage_unavailable', 'unavailable'],
  }),
  'POST /upload/singles': {
    summary:
      'Several single-shot bodies in one request (a browser’s simple request): a first line of JSON { files: [{ url, contentType? }] } (each url a signed single-shot URL), then each file’s bytes, exactly its signed size, in order; each file checked and published as its PUT would be',
    tags: ['uploads'],
    auth: 'presigned',
    body: bytes('one line of JSON, a newline, then the files’ bytes back to back', 'text/plain'),
    responses: { 200: s.singlesAnswer },
    errors: ['invalid_request', 'invalid_part', 'too_large'],
  },
  'POST /:type/upload/single/complete': signed({
    summary: 'Verify and publish a body staged in the bucket (S3 backend)',
    tags: ['uploads'],
    params: s.typeParams,
    query: s.singleQuery,
    body: singleCompleteBody,
    responses: { 200: s.blobAnswer },
    errors: ['invalid_part', 'hash_mismatch', 'conflict', 'storage_unavailable'],
  }),

  'GET /blobs/stat': signed({
    summary: 'A verified blob’s size and type',
    tags: ['blobs'],
    query: s.blobQuery,
    responses: { 200: s.blobInfo },
  }),
  'GET /blobs/download': signed({
    summary: 'A verified blob’s bytes (Range supported; HEAD too), or a 302 to the bucket (S3 backend)',
    tags: ['blobs'],
    query: s.blobQuery,
    responses: {
      200: bytes('the blob'),
      206: bytes('the requested range'),
      302: 'Location: a presigned GET of the object, valid no longer than this URL',
    },
    errors: ['range_not_satisfiable'],
  }),
  'DELETE /blobs/delete': signed({
    summary: 'Collect a blob no index entry points at (kept, 409, while within the grace period)',
    tags: ['blobs'],
    query: s.blobQuery,
    responses: { 200: s.deleted },
    errors: ['conflict'],
  }),
  'POST /lambda/:name': signed({
    summary: 'Run a Lambda trigger on one stored blob (signed for lambda-<name>)',
    tags: ['blobs'],
    params: s.lambdaParams,
    query: s.blobQuery,
    responses: { 200: 'the trigger’s JSON answer' },
    errors: ['hash_mismatch'],
  }),
};

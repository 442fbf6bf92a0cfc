import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  contentTypeProblem,
  DreamLakeError,
  detectContentType,
  detectType,
  ERRORS,
  fileNameProblem,
  isErrorCode,
  multipartPath,
  parseFlag,
  parseList,
  STATUS_BY_CODE,
  secretProblem,
  UPLOAD_STEPS,
} from '@dreamlake/protocol';

test('content types: media types with parameters pass; a trailing ";", controls and non-ASCII do not', () => {
  for (const ok of ['video/mp4', 'text/plain; charset=utf-8', 'application/vnd.api+json', 'text/plain;a="b c"'])
    assert.equal(contentTypeProblem(ok), null, ok);
  for (const bad of [
    'video/mp4;',
    'text/plain; a=1;',
    'video',
    'vidéo/mp4',
    'text/plain\r\nx: y',
    `a/${'b'.repeat(300)}`,
  ])
    assert.notEqual(contentTypeProblem(bad), null, bad);
});

test('file names: relative paths of 1 to 1024 UTF-8 bytes without controls or dot segments', () => {
  for (const ok of ['a.txt', 'run42/sub/b.csv', 'é/ü.png', '.hidden', 'x'.repeat(1024)])
    assert.equal(fileNameProblem(ok), null, ok);
  for (const bad of ['', '/abs', 'a//b', 'a/./b', '../up', 'a\u0000b', 'a\u0085b', '\uD800', 'é'.repeat(513)])
    assert.notEqual(fileNameProblem(bad), null, JSON.stringify(bad));
});

test('flags mean the same everywhere: on/off words in any case, empty is unset, anything else is refused', () => {
  for (const on of ['1', 'true', 'TRUE', 'yes', 'on', ' On ']) assert.equal(parseFlag(on), true, on);
  for (const off of ['0', 'false', 'no', 'off', 'OFF']) assert.equal(parseFlag(off), false, off);
  assert.equal(parseFlag(''), undefined);
  assert.equal(parseFlag(undefined), undefined);
  assert.equal(parseFlag('enabled'), null);
  assert.deepEqual(parseList(' a, ,b ,'), ['a', 'b']);
});

test('secrets shorter than 32 bytes are refused, counted in UTF-8 bytes', () => {
  assert.equal(secretProblem(''), 'is missing');
  assert.match(secretProblem('x'.repeat(31)) ?? '', /shorter than 32 bytes/);
  assert.equal(secretProblem('é'.repeat(16)), null);
});

test('every error code has a status and a default message, and an error without a message takes it', () => {
  for (const [code, { status, message }] of Object.entries(ERRORS)) {
    assert.ok(isErrorCode(code));
    assert.ok(status >= 400 && status < 600, code);
    assert.equal(STATUS_BY_CODE[code as keyof typeof ERRORS], status);
    const error = new DreamLakeError(code as keyof typeof ERRORS);
    assert.equal(error.message, message);
    assert.equal(error.status, status);
  }
  assert.equal(isErrorCode('BadDigest'), false);
  assert.equal(new DreamLakeError('too_large', 'at most 1 byte', { max: 1 }).details?.max, 1);
});

test('the upload step table names five distinct steps, paths and actions', () => {
  assert.equal(UPLOAD_STEPS.length, 5);
  for (const key of ['field', 'step', 'action'] as const)
    assert.equal(new Set(UPLOAD_STEPS.map((s) => s[key])).size, 5, key);
  assert.equal(multipartPath('videos', 'parts-done'), 'videos/upload/multipart/parts-done');
});

test('asset and content types by extension, case-insensitive; unknown ones fall back', () => {
  assert.equal(detectType('a/B.MP4'), 'videos');
  assert.equal(detectContentType('x.JPEG'), 'image/jpeg');
  assert.equal(detectType('noext'), 'files');
  assert.equal(detectType('.mp4'), 'files');
  assert.equal(detectContentType('a.unknown'), 'application/octet-stream');
});

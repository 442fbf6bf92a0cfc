import assert from 'node:assert/strict';
import { validateHeaderValue } from 'node:http';
import { test } from 'node:test';
import fc from 'fast-check';
import { contentType as bssContentType } from '../packages/bss/src/http/schemas.ts';
import { contentTypeSchema } from '../packages/server/src/names.ts';

const serverTakes = (v: string) => contentTypeSchema.safeParse(v).success;
const bssTakes = (v: string) => bssContentType.safeParse(v).success;

/** Whether Node would send the value as a header unchanged (a header value is trimmed on the way in). */
function sendable(value: string): boolean {
  try {
    validateHeaderValue('content-type', value);
  } catch {
    return false;
  }
  return /^[\x20-\x7e]*$/.test(value) && value.trim() === value;
}

const ACCEPTED = [
  'video/mp4',
  'application/octet-stream',
  'application/vnd.ms-excel',
  'image/svg+xml',
  'text/plain; charset=utf-8',
  'text/plain;charset=UTF-8',
  'multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW',
  'video/mp4; codecs="avc1.42E01E, mp4a.40.2"',
  'text/plain; a=1; b="x \\" y"',
];

const REFUSED = [
  '',
  'video',
  'video/',
  '/mp4',
  'video/mp4;',
  'video/mp4; ',
  'video/mp4 ',
  ' video/mp4',
  'text/plain; a=1;',
  'text/plain;;a=1',
  'text/plain; charset',
  'text/plain; charset=',
  'text/plain; a="unterminated',
  'text/plain; a=b/c',
  'vidéo/mp4',
  'video/mp4; name=vidéo',
  'video/mp4; name="vidéo"',
  'video/mp4; a=\u2028',
  'a/b\u0007',
  'a/b; c=d\u0000',
  'a/b\r\nx-injected: 1',
  'a/b; c=d\r\n',
  'a/b\t',
  'a/b; c="\t"',
  'a/b\u007f',
  'a/b\u0085',
  'video/mp4/x',
  `video/${'x'.repeat(300)}`,
];

test('content types that can be sent back as a header are taken by both the server and BSS', () => {
  for (const value of ACCEPTED) {
    assert.ok(serverTakes(value), `server refuses ${JSON.stringify(value)}`);
    assert.ok(bssTakes(value), `BSS refuses ${JSON.stringify(value)}`);
    assert.ok(sendable(value), `${JSON.stringify(value)} is not a sendable header`);
  }
});

test('the server refuses every content type BSS refuses', () => {
  for (const value of REFUSED) {
    assert.equal(bssTakes(value), false, `BSS takes ${JSON.stringify(value)}`);
    assert.equal(serverTakes(value), false, `server takes ${JSON.stringify(value)}`);
  }
});

test('the server and BSS agree on any string, and take only sendable ones', () => {
  const tricky = fc.constantFrom(...'abz09/;= "\\\t\r\n\u0000\u0007\u007f\u00e9\u2028+-._!#$&^*\'`|~%'.split(''));
  const candidates = fc.oneof(
    fc.string({ unit: tricky, maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.tuple(fc.constantFrom(...ACCEPTED), fc.string({ unit: tricky, maxLength: 8 })).map(([a, b]) => a + b),
  );
  fc.assert(
    fc.property(candidates, (value) => {
      const server = serverTakes(value);
      assert.equal(server, bssTakes(value), `server and BSS disagree on ${JSON.stringify(value)}`);
      if (server) assert.ok(sendable(value), `${JSON.stringify(value)} is taken but not a sendable header`);
    }),
    { numRuns: 500 },
  );
});

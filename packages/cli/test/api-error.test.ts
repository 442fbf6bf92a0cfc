import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERRORS } from '@dreamlake/protocol';
import { ApiError } from '../src/errors.ts';
import { errorFromResponse } from '../src/http.ts';

const json = (code: string, message = 'said') => JSON.stringify({ error: { code, message } });

test("every DreamLake code from the protocol arrives as ApiError.code, with the service's message", () => {
  for (const [code, { status }] of Object.entries(ERRORS)) {
    const error = errorFromResponse(status, {}, json(code, 'why'));
    assert.equal(error.code, code);
    assert.equal(error.wireCode, code);
    assert.equal(error.message, `${code}: why (HTTP ${status})`);
  }
});

test('a code added by a newer server falls back to http_<status>; the code itself is kept in wireCode and the message', () => {
  const error = errorFromResponse(409, {}, json('space_frozen', 'the space is read-only'));
  assert.equal(error.code, 'http_409');
  assert.equal(error.wireCode, 'space_frozen');
  assert.match(error.message, /^space_frozen: the space is read-only \(HTTP 409\)$/);
});

test("S3's XML errors keep S3's name; a bare HTTP error is http_<status>", () => {
  const xml =
    '<?xml version="1.0"?><Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>';
  const s3 = errorFromResponse(403, {}, xml);
  assert.equal(s3.code, 'ExpiredToken');
  assert.equal(s3.message, 'ExpiredToken: The provided token has expired. (HTTP 403)');
  const bare = errorFromResponse(502, {}, '<html>Bad Gateway</html>');
  assert.equal(bare.code, 'http_502');
  assert.equal(bare.wireCode, 'http_502');
  // An older server's own 404 (no DreamLake error object) is not taken for not_found.
  const noRoute = errorFromResponse(404, {}, JSON.stringify({ message: 'Route POST:/uploads/init not found' }));
  assert.equal(noRoute.code, 'http_404');
});

test('ApiError built by the CLI itself narrows the same way', () => {
  assert.equal(new ApiError(404, 'not_found', 'gone').code, 'not_found');
  assert.equal(new ApiError(418, 'teapot', 'short and stout').code, 'http_418');
});

test("a refusal naming several names (a commit's details.names) lists them after its message, at most ten", () => {
  const names = Array.from({ length: 12 }, (_, i) => `runs/${i}.csv`);
  const body = JSON.stringify({
    // As the services send it: the details beside the code and message.
    error: { code: 'not_found', message: '14 names are not in ann/ds: nothing was committed', names, count: 14 },
  });
  const error = errorFromResponse(404, {}, body);
  assert.deepEqual(error.details, { names, count: 14 });
  assert.equal(
    error.message,
    `not_found: 14 names are not in ann/ds: nothing was committed (HTTP 404): ${names
      .slice(0, 10)
      .map((n) => `"${n}"`)
      .join(', ')} and 4 more`,
  );
  // One name is in the message already.
  const one = errorFromResponse(
    404,
    {},
    JSON.stringify({
      error: { code: 'not_found', message: '"a.csv" is not in ann/ds', details: { names: ['a.csv'] } },
    }),
  );
  assert.equal(one.message, 'not_found: "a.csv" is not in ann/ds (HTTP 404)');
});

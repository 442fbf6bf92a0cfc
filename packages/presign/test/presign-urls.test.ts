import assert from 'node:assert/strict';
import { test } from 'node:test';
import { presignUrl, presignUrls, verify } from '../src/index.ts';

const SECRETS = ['first secret 0123456789abcdef', 'older secret 0123456789abcdef'];

test('presignUrls answers, for each path and action, the URL presignUrl signs for it', () => {
  const params = { owner: 'älice', project: 'robotics/day 1', hash: 'ab'.repeat(32), size: '20480', user: 'u_1&2' };
  const targets = [
    { path: 'files/upload/multipart/init', action: 'upload-init' },
    { path: 'files/upload/multipart/parts', action: 'upload-parts' },
    { path: '../other/complete', action: 'upload-complete' },
  ];
  for (const base of ['http://bss.example.test:10234', 'https://bss.example.test/prefix/']) {
    const { urls, exp } = presignUrls(base, targets, {
      params,
      secrets: SECRETS,
      now: 1_795_867_200.7,
      ttlSeconds: 3600,
    });
    assert.equal(exp, 1_795_870_800);
    assert.deepEqual(
      urls,
      targets.map(
        ({ path, action }) =>
          presignUrl(base, path, { action, params, secrets: SECRETS, now: 1_795_867_200.7, ttlSeconds: 3600 }).url,
      ),
    );
    // Each verifies for its own action only.
    for (const [i, url] of urls.entries()) {
      const query = Object.fromEntries(new URL(url).searchParams);
      for (const [j, { action }] of targets.entries()) {
        const check = () =>
          verify({ query, action, signed: Object.keys(params), secrets: SECRETS, now: 1_795_867_300 });
        if (i === j) assert.deepEqual(check().params, params);
        else assert.throws(check);
      }
    }
  }
});

test('presignUrls checks its options as presignUrl does', () => {
  const targets = [{ path: 'a', action: 'x' }];
  const params = { owner: 'o' };
  assert.throws(() => presignUrls('http://h', targets, { params, secrets: [], now: 1, ttlSeconds: 60 }), TypeError);
  assert.throws(() => presignUrls('http://h', targets, { params, secrets: SECRETS, now: 1, ttlSeconds: 0 }), TypeError);
  assert.throws(
    () => presignUrls('http://h', targets, { params, secrets: SECRETS, now: 1, ttlSeconds: 8 * 24 * 3600 }),
    TypeError,
  );
});

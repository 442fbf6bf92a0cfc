import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verify } from '@dreamlake/presign';
import { listUploadGrants } from '../src/db/upload-grants.ts';
import { SINGLE_UPLOAD_MAX_BYTES } from '../src/limits.ts';
import { forEachEngine } from './helpers/engines.ts';
import { PRESIGN_SECRET, PUBLIC_BSS, sha256, useHarness } from './helpers/harness.ts';
import { readSignedUrl, specSignature } from './helpers/spec-signature.ts';

const MiB = 1024 * 1024;
const QUOTA = 50 * MiB;
const MAX = 40 * MiB;

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({ namespaceQuotaBytes: QUOTA, maxUploadBytes: MAX }));
  const entry = (name: string, extra: Record<string, unknown> = {}) => ({
    filename: name,
    hash: sha256(`${engine}-${name}-${Math.random()}`),
    contentType: 'video/mp4',
    type: 'videos',
    size: 1000,
    ...extra,
  });
  const batch = (token: string | undefined, namespace: string, files: unknown[], space = 'robotics') =>
    h.call('POST', '/uploads/batch', token, { namespace, space, files });

  test('a mixed batch answers each entry in order: exists, granted with and without singleUrl, invalid, too large', async () => {
    const alice = await h.user('alice');
    const known = sha256(`known-${engine}`);
    h.bss.put(alice.name, 'robotics', known, 1234, 'video/mp4');
    const reg = await h.call('POST', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token, {
      name: 'known.mp4',
      hash: known,
      type: 'videos',
    });
    assert.equal(reg.statusCode, 201);
    const statsBefore = h.bss.stats.length;

    const small = entry('small.mp4', { size: SINGLE_UPLOAD_MAX_BYTES });
    const big = entry('big.mp4', { size: SINGLE_UPLOAD_MAX_BYTES + 1 });
    const files = [
      entry('copy.mp4', { hash: known }),
      small,
      { ...entry('bad'), filename: 'a/../b' },
      big,
      entry('huge.mp4', { size: MAX + 1 }),
      { filename: 'x' },
    ];
    const res = await batch(alice.token, alice.name, files);
    assert.equal(res.statusCode, 200, res.body);
    const answer = res.json().files;
    assert.equal(answer.length, files.length);
    assert.deepEqual(
      answer.map((a: { index: number }) => a.index),
      [0, 1, 2, 3, 4, 5],
    );
    assert.deepEqual(answer[0], { index: 0, exists: true, file: reg.json().file });
    assert.ok(answer[1].initUrl && answer[1].singleUrl, 'a file of one part gets the single-shot URL');
    assert.ok(answer[3].initUrl && !('singleUrl' in answer[3]), 'a larger file gets the multipart URLs only');
    assert.equal(answer[2].error.code, 'invalid_request');
    assert.equal(answer[5].error.code, 'invalid_request');
    assert.equal(answer[4].error.code, 'too_large');
    assert.equal(h.bss.stats.length, statsBefore, 'no hash is checked with BSS');
  });

  test('the URLs carry the spec signature; singleUrl verifies as upload-single over owner, project, hash and size', async () => {
    const alice = await h.user('alice');
    const small = entry('clip.vtt', { type: 'text-tracks', size: 4096 });
    const res = await batch(alice.token, alice.name, [small]);
    const [granted] = res.json().files;
    const exp = Math.floor(h.clock.now / 1000) + h.config.presignTtlSeconds;
    assert.equal(granted.expiresAt, new Date(exp * 1000).toISOString());
    for (const [field, step] of Object.entries({
      initUrl: 'init',
      partsUrl: 'parts',
      partsDoneUrl: 'parts-done',
      completeUrl: 'complete',
      abortUrl: 'abort',
    })) {
      const url = readSignedUrl(granted[field]);
      assert.equal(url.path, `/text-tracks/upload/multipart/${step}`);
      assert.ok(url.params.user, 'the grant names its user');
      const params = {
        owner: alice.name,
        project: 'robotics',
        hash: small.hash,
        size: '4096',
        user: url.params.user as string,
      };
      assert.deepEqual(url.params, params);
      assert.equal(url.sig, specSignature(PRESIGN_SECRET, `upload-${step}`, params, exp));
    }
    const single = new URL(granted.singleUrl);
    assert.equal(single.origin, PUBLIC_BSS);
    assert.equal(single.pathname, '/text-tracks/upload/single');
    const scope = verify({
      action: 'upload-single',
      signed: ['owner', 'project', 'hash', 'size'],
      query: Object.fromEntries(single.searchParams),
      secrets: [PRESIGN_SECRET],
      now: Math.floor(h.clock.now / 1000),
    });
    assert.deepEqual(scope.params, { owner: alice.name, project: 'robotics', hash: small.hash, size: '4096' });
    assert.equal(scope.exp, exp);
  });

  test('every answered entry is audited in the batch, with who, scope and address; the missing space is created', async () => {
    const alice = await h.user('alice');
    const known = sha256(`audited-known-${engine}`);
    h.bss.put(alice.name, 'fresh', known, 10);
    const a = entry('a.mp4');
    const res = await h.app.inject({
      method: 'POST',
      url: '/uploads/batch',
      headers: { authorization: `Bearer ${alice.token}` },
      remoteAddress: '192.0.2.9',
      payload: {
        namespace: alice.name,
        space: 'fresh',
        files: [a, entry('b.mp4', { hash: 'nope' }), entry('c.mp4', { size: 5 })],
      },
    });
    assert.equal(res.statusCode, 200, res.body);
    const spaces = (await h.call('GET', `/namespaces/${alice.name}/spaces`, alice.token)).json().spaces;
    assert.deepEqual(
      spaces.map((s: { name: string }) => s.name),
      ['fresh'],
    );
    assert.equal(
      (
        await h.call('POST', `/namespaces/${alice.name}/spaces/fresh/files`, alice.token, {
          name: 'k',
          hash: known,
          type: 'files',
        })
      ).statusCode,
      201,
    );
    const again = await batch(alice.token, alice.name, [entry('k2', { hash: known })], 'fresh');
    assert.equal(again.json().files[0].exists, true);

    const rows = await listUploadGrants(h.db, alice.name);
    assert.deepEqual(rows.map((r) => [r.filename, r.outcome, r.size]).sort(), [
      ['a.mp4', 'granted', 1000],
      ['c.mp4', 'granted', 5],
      ['k2', 'exists', 1000],
    ]);
    const first = rows.find((r) => r.filename === 'a.mp4')!;
    assert.deepEqual(
      { ...first, userId: undefined },
      {
        userId: undefined,
        username: alice.name,
        namespace: alice.name,
        space: 'fresh',
        hash: a.hash,
        filename: 'a.mp4',
        type: 'videos',
        size: 1000,
        contentType: 'video/mp4',
        outcome: 'granted',
        ip: '192.0.2.9',
        createdAt: new Date(h.clock.now).toISOString(),
      },
    );
  });

  test('401 without a token; 403 for a namespace the caller may not write, for the whole batch', async () => {
    const [owner, reader, outsider] = [await h.user('own'), await h.user('rea'), await h.user('out')];
    const org = `org-batch-${engine}`;
    assert.equal((await h.call('POST', '/orgs', owner.token, { name: org })).statusCode, 201);
    assert.equal(
      (await h.call('PUT', `/orgs/${org}/members/${reader.name}`, owner.token, { role: 'reader' })).statusCode,
      200,
    );
    assert.equal((await batch(undefined, org, [entry('a')])).statusCode, 401);
    for (const who of [reader, outsider]) {
      const res = await batch(who.token, org, [entry('a')]);
      assert.equal(res.statusCode, 403, who.name);
      assert.equal(res.json().error.code, 'forbidden');
    }
    assert.equal((await batch(outsider.token, 'no-such-namespace', [entry('a')])).statusCode, 403);
    assert.equal((await batch(owner.token, org, [entry('a')])).statusCode, 200);
  });

  test('413 for more than 1000 entries and for a body over its limit, naming the limit; 400 for a bad envelope', async () => {
    const alice = await h.user('alice');
    const files = Array.from({ length: 1000 }, (_, i) => entry(`f/${i}.bin`, { size: 1 }));
    const full = await batch(alice.token, alice.name, files);
    assert.equal(full.statusCode, 200);
    assert.equal(full.json().files.length, 1000);
    assert.ok(
      full.json().files.every((f: { index: number; singleUrl?: string }, i: number) => f.index === i && f.singleUrl),
    );
    assert.equal((await listUploadGrants(h.db, alice.name)).length, 1000);

    const over = await batch(alice.token, alice.name, [...files, entry('one-more')]);
    assert.equal(over.statusCode, 413);
    assert.equal(over.json().error.code, 'too_large');
    assert.equal(over.json().error.maxFiles, 1000);

    const padded = await batch(alice.token, alice.name, [{ ...entry('pad'), filename: 'x'.repeat(6 * MiB) }]);
    assert.equal(padded.statusCode, 413);
    assert.equal(padded.json().error.code, 'too_large');
    assert.equal(padded.json().error.maxBytes, 5 * MiB);

    for (const payload of [
      { namespace: alice.name, space: 'robotics', files: [] },
      { namespace: alice.name, files: [entry('a')] },
      { namespace: alice.name, space: 'robotics', files: [entry('a')], extra: 1 },
    ]) {
      const res = await h.call('POST', '/uploads/batch', alice.token, payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 80));
      assert.equal(res.json().error.code, 'invalid_request');
    }
  });

  test('the quota holds for the granted bytes of the batch together; only the entries that do not fit are refused', async () => {
    const alice = await h.user('alice');
    const half = QUOTA / 2;
    const asked = [
      entry('a', { size: half }),
      entry('b', { size: half + 1 }),
      entry('c', { size: 1 }),
      entry('d', { size: half - 1 }),
      entry('e', { size: 1 }),
    ];
    const over = await batch(alice.token, alice.name, asked);
    assert.equal(over.statusCode, 200, over.body);
    const files = over.json().files;
    assert.deepEqual(
      files.map((f: { initUrl?: string; error?: { code: string } }) => f.error?.code ?? (f.initUrl ? 'granted' : '?')),
      ['granted', 'too_large', 'granted', 'granted', 'too_large'],
      'in the order asked: b does not fit after a, c and d fill the quota, e finds it full',
    );
    assert.match(files[1].error.message, /over its quota/);
    // A batch of the granted blobs again holds nothing more; the refused ones still do not fit.
    const again = await batch(alice.token, alice.name, asked.slice(0, 2));
    assert.equal(again.json().files[0].error, undefined, again.body);
    assert.equal(again.json().files[1].error?.code, 'too_large', again.body);

    const bob = await h.user('bob');
    // Fill the namespace with two files (one may be at most MAX bytes).
    const full = sha256(`full-${engine}`);
    const rest = sha256(`rest-${engine}`);
    h.bss.put(bob.name, 'robotics', full, MAX);
    h.bss.put(bob.name, 'robotics', rest, QUOTA - MAX);
    for (const [name, hash] of [
      ['full.bin', full],
      ['rest.bin', rest],
    ] as const) {
      const res = await h.call('POST', `/namespaces/${bob.name}/spaces/robotics/files`, bob.token, {
        name,
        hash,
        type: 'files',
      });
      assert.equal(res.statusCode, 201, res.body);
    }
    const empty = await batch(bob.token, bob.name, [entry('empty', { size: 0 })]);
    assert.equal(
      empty.json().files[0].error?.code,
      'too_large',
      'empty files do not skip the quota of a full namespace',
    );
    const known = await batch(bob.token, bob.name, [entry('full.bin', { hash: full, size: MAX })]);
    assert.equal(known.statusCode, 200, 'a batch of indexed hashes grants no bytes and is answered');
  });
});

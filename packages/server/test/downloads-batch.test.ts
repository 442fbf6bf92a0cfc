import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachEngine } from './helpers/engines.ts';
import { PRESIGN_SECRET, PUBLIC_BSS, sha256, useHarness } from './helpers/harness.ts';
import { readSignedUrl, specSignature } from './helpers/spec-signature.ts';

const MiB = 1024 * 1024;

forEachEngine((engine) => {
  const h = useHarness(engine);
  const filesUrl = (ns: string, space = 'robotics') => `/namespaces/${ns}/spaces/${space}/files`;
  const batch = (token: string | undefined, namespace: string, files: unknown[], space = 'robotics') =>
    h.call('POST', '/downloads/batch', token, { namespace, space, files });
  const put = async (token: string, ns: string, name: string, size: number, space = 'robotics') => {
    const hash = sha256(`${engine}-${ns}-${name}`);
    h.bss.put(ns, space, hash, size, 'application/octet-stream');
    const res = await h.call('POST', `${filesUrl(ns, space)}`, token, { name, hash, type: 'files' });
    assert.equal(res.statusCode, 201, res.body);
    return hash;
  };

  test('a batch answers each entry in order: a signed download URL per indexed file, errors for the others', async () => {
    const alice = await h.user('alice');
    const a = await put(alice.token, alice.name, 'run/a.bin', 10);
    const b = await put(alice.token, alice.name, 'run/deep/b bin', 2000);
    const res = await batch(alice.token, alice.name, [
      { name: 'run/a.bin' },
      { name: 'missing.bin' },
      { name: '../escape' },
      { name: 'run/deep/b bin' },
      { nope: 1 },
    ]);
    assert.equal(res.statusCode, 200, res.body);
    const files = res.json().files;
    assert.deepEqual(
      files.map((f: { index: number }) => f.index),
      [0, 1, 2, 3, 4],
    );
    assert.equal(files[1].error.code, 'not_found');
    assert.equal(files[2].error.code, 'invalid_request');
    assert.equal(files[4].error.code, 'invalid_request');
    const expiresAt = new Date((Math.floor(h.clock.now / 1000) + h.config.presignTtlSeconds) * 1000).toISOString();
    for (const [i, name, hash, size] of [
      [0, 'run/a.bin', a, 10],
      [3, 'run/deep/b bin', b, 2000],
    ] as const) {
      assert.deepEqual(
        { ...files[i], url: undefined },
        { index: i, url: undefined, name, hash, size, contentType: 'application/octet-stream', expiresAt },
      );
      const url = readSignedUrl(files[i].url);
      assert.equal(url.origin, PUBLIC_BSS);
      assert.equal(url.path, '/blobs/download');
      assert.deepEqual(url.params, { owner: alice.name, project: 'robotics', hash });
      assert.equal(url.sig, specSignature(PRESIGN_SECRET, 'download', url.params, url.exp));
    }
  });

  test('reading needs a reader role; an unknown space or an outsider is 404; no token is 401', async () => {
    const [owner, reader, outsider] = [await h.user('own'), await h.user('rea'), await h.user('out')];
    const org = `org-dl-${engine}`;
    await h.call('POST', '/orgs', owner.token, { name: org });
    await h.call('PUT', `/orgs/${org}/members/${reader.name}`, owner.token, { role: 'reader' });
    const hash = await put(owner.token, org, 'l.jsonl', 5);

    const granted = await batch(reader.token, org, [{ name: 'l.jsonl' }]);
    assert.equal(granted.statusCode, 200);
    assert.equal(granted.json().files[0].hash, hash);
    const refused = await batch(outsider.token, org, [{ name: 'l.jsonl' }]);
    assert.equal(refused.statusCode, 404);
    assert.ok(!refused.body.includes(hash));
    assert.equal((await batch(reader.token, org, [{ name: 'l.jsonl' }], 'nope')).statusCode, 404);
    assert.equal((await batch(undefined, org, [{ name: 'l.jsonl' }])).statusCode, 401);
  });

  test('413 for more than 1000 entries and for a body over its limit, naming the limit; 400 for a bad envelope', async () => {
    const alice = await h.user('alice');
    await put(alice.token, alice.name, 'f/0.bin', 1);
    const files = Array.from({ length: 1000 }, (_, i) => ({ name: `f/${i}.bin` }));
    const full = await batch(alice.token, alice.name, files);
    assert.equal(full.statusCode, 200);
    assert.equal(full.json().files.length, 1000);
    assert.ok(full.json().files[0].url);
    assert.equal(full.json().files[999].error.code, 'not_found');

    const over = await batch(alice.token, alice.name, [...files, { name: 'one-more' }]);
    assert.equal(over.statusCode, 413);
    assert.equal(over.json().error.code, 'too_large');
    assert.equal(over.json().error.maxFiles, 1000);

    const padded = await batch(alice.token, alice.name, [{ name: 'x'.repeat(6 * MiB) }]);
    assert.equal(padded.statusCode, 413);
    assert.equal(padded.json().error.code, 'too_large');
    assert.equal(padded.json().error.maxBytes, 5 * MiB);

    for (const payload of [
      { namespace: alice.name, space: 'robotics', files: [] },
      { namespace: alice.name, files: [{ name: 'a' }] },
      { namespace: alice.name, space: 'robotics', files: [{ name: 'a' }], extra: 1 },
      { namespace: 'Not A Name', space: 'robotics', files: [{ name: 'a' }] },
    ]) {
      const res = await h.call('POST', '/downloads/batch', alice.token, payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 80));
      assert.equal(res.json().error.code, 'invalid_request');
    }
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signReceipt } from '@dreamlake/presign';
import { forEachEngine } from './helpers/engines.ts';
import { PRESIGN_SECRET, sha256, useHarness } from './helpers/harness.ts';

const QUOTA = 10_000;

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({ namespaceQuotaBytes: QUOTA }));
  const url = (ns: string, action: 'lookup' | 'batch', space = 'robotics') =>
    `/namespaces/${ns}/spaces/${space}/files/${action}`;
  /** A receipt as BSS signs it, valid for ten minutes from `ageSeconds` ago. */
  const receipt = (
    ns: string,
    hash: string,
    size: number,
    contentType = 'video/mp4',
    ageSeconds = 0,
    space = 'robotics',
  ) =>
    signReceipt(
      [PRESIGN_SECRET],
      { owner: ns, project: space, hash, size, contentType },
      Math.floor(h.clock.now / 1000) - ageSeconds,
      600,
    );
  const hashOf = (text: string) => sha256(`${engine}-${text}-${Math.random()}`);

  test('lookup answers indexed, held or missing per entry, in order; an unknown space answers missing', async () => {
    const alice = await h.user('alice');
    const [a, b] = [hashOf('a'), hashOf('b')];
    h.bss.put(alice.name, 'robotics', a, 10);
    assert.equal(
      (
        await h.call('POST', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token, {
          name: 'a.bin',
          hash: a,
          type: 'files',
        })
      ).statusCode,
      201,
    );
    const res = await h.call('POST', url(alice.name, 'lookup'), alice.token, {
      files: [
        { name: 'a.bin', hash: a },
        { name: 'copy-of-a.bin', hash: a },
        { name: 'a.bin', hash: b },
        { name: 'b.bin', hash: b },
      ],
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { files: ['indexed', 'held', 'missing', 'missing'] });
    const elsewhere = await h.call('POST', url(alice.name, 'lookup', 'nowhere'), alice.token, {
      files: [{ name: 'a.bin', hash: a }],
    });
    assert.deepEqual(elsewhere.json(), { files: ['missing'] });
  });

  test('lookup needs a reader; 404 outside the namespace; 400 on an invalid entry; 413 over 10,000 entries', async () => {
    const [owner, reader, outsider] = [await h.user('own'), await h.user('rea'), await h.user('out')];
    const org = `org-lookup-${engine}`;
    await h.call('POST', '/orgs', owner.token, { name: org });
    await h.call('PUT', `/orgs/${org}/members/${reader.name}`, owner.token, { role: 'reader' });
    const files = [{ name: 'x', hash: hashOf('x') }];
    assert.equal((await h.call('POST', url(org, 'lookup'), reader.token, { files })).statusCode, 200);
    assert.equal((await h.call('POST', url(org, 'lookup'), outsider.token, { files })).statusCode, 404);
    assert.equal((await h.call('POST', url(org, 'lookup'), undefined, { files })).statusCode, 401);
    const bad = await h.call('POST', url(org, 'lookup'), reader.token, {
      files: [...files, { name: '../x', hash: 'nope' }],
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'invalid_request');
    const many = Array.from({ length: 10_000 }, (_, i) => ({ name: `f/${i}`, hash: sha256(String(i)) }));
    const full = await h.call('POST', url(org, 'lookup'), reader.token, { files: many });
    assert.equal(full.statusCode, 200);
    assert.equal(full.json().files.length, 10_000);
    const over = await h.call('POST', url(org, 'lookup'), reader.token, { files: [...many, files[0]] });
    assert.equal(over.statusCode, 413);
    assert.equal(over.json().error.maxFiles, 10_000);
  });

  test('batch register with valid receipts asks BSS nothing; size and type come from the receipt', async () => {
    const alice = await h.user('alice');
    const [a, b] = [hashOf('a'), hashOf('b')];
    const statsBefore = h.bss.stats.length;
    const res = await h.call('POST', url(alice.name, 'batch'), alice.token, {
      files: [
        {
          name: 'clips/a.mp4',
          hash: a,
          type: 'videos',
          contentType: 'video/x-other',
          receipt: receipt(alice.name, a, 100),
        },
        {
          name: 'data/b.csv',
          hash: b,
          type: 'tracks',
          contentType: 'text/csv',
          receipt: receipt(alice.name, b, 200, 'application/octet-stream'),
        },
      ],
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(h.bss.stats.length, statsBefore, 'no stat call');
    const createdAt = new Date(h.clock.now).toISOString();
    const file = (name: string, type: string, size: number, contentType: string, hash: string) => ({
      namespace: alice.name,
      space: 'robotics',
      name,
      type,
      size,
      contentType,
      hash,
      uploadedBy: alice.name,
      createdAt,
    });
    assert.deepEqual(res.json().files, [
      { index: 0, created: true, file: file('clips/a.mp4', 'videos', 100, 'video/mp4', a) },
      { index: 1, created: true, file: file('data/b.csv', 'tracks', 200, 'text/csv', b) },
    ]);
    const listed = (await h.call('GET', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token)).json().files;
    assert.deepEqual(
      listed,
      res.json().files.map((f: { file: unknown }) => f.file),
    );

    const again = await h.call('POST', url(alice.name, 'batch'), alice.token, {
      files: [{ name: 'clips/a.mp4', hash: a, type: 'videos' }],
    });
    assert.deepEqual(again.json().files, [{ index: 0, created: false, file: listed[0] }]);
    assert.equal(h.bss.stats.length, statsBefore, 'an unchanged entry needs no proof');
  });

  test('another name for a hash the space already holds is registered without asking BSS', async () => {
    const alice = await h.user('alice');
    const a = hashOf('held');
    const first = await h.call('POST', url(alice.name, 'batch'), alice.token, {
      files: [{ name: 'run1/a.jpg', hash: a, type: 'image', receipt: receipt(alice.name, a, 321, 'image/jpeg') }],
    });
    assert.equal(first.statusCode, 200, first.body);
    const statsBefore = h.bss.stats.length;
    const res = await h.call('POST', url(alice.name, 'batch'), alice.token, {
      files: [{ name: 'run2/a.jpg', hash: a, type: 'image' }],
    });
    assert.equal(res.statusCode, 200, res.body);
    const [answer] = res.json().files;
    assert.deepEqual(
      [answer.created, answer.file.size, answer.file.contentType, answer.file.hash],
      [true, 321, 'image/jpeg', a],
    );
    assert.equal(h.bss.stats.length, statsBefore, 'no stat call');
  });

  test('a bad, expired or foreign receipt is that entry’s error; an entry without one is confirmed with BSS', async () => {
    const alice = await h.user('alice');
    const [good, forged, expired, foreign, statted, absent] = [
      'good',
      'forged',
      'expired',
      'foreign',
      'statted',
      'absent',
    ].map(hashOf);
    h.bss.put(alice.name, 'robotics', statted!, 50, 'image/png');
    const forgedReceipt = { ...receipt(alice.name, forged!, 10), size: 9 };
    const statsBefore = h.bss.stats.length;
    const res = await h.call('POST', url(alice.name, 'batch'), alice.token, {
      files: [
        { name: 'good', hash: good, type: 'files', receipt: receipt(alice.name, good!, 10) },
        { name: 'forged', hash: forged, type: 'files', receipt: forgedReceipt },
        { name: 'expired', hash: expired, type: 'files', receipt: receipt(alice.name, expired!, 10, 'video/mp4', 601) },
        {
          name: 'foreign',
          hash: foreign,
          type: 'files',
          receipt: receipt(alice.name, foreign!, 10, 'video/mp4', 0, 'other'),
        },
        { name: 'statted', hash: statted, type: 'image' },
        { name: 'absent', hash: absent, type: 'files' },
        { name: '/bad', hash: good, type: 'files' },
        { name: 'good', hash: good, type: 'files' },
      ],
    });
    assert.equal(res.statusCode, 200, res.body);
    const answers = res.json().files;
    assert.deepEqual(
      answers.map((a: { index: number }) => a.index),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(answers[0].created, true);
    assert.equal(answers[1].error.code, 'bad_signature');
    assert.equal(answers[2].error.code, 'expired_signature');
    assert.equal(answers[3].error.code, 'bad_signature');
    assert.deepEqual([answers[4].created, answers[4].file.size, answers[4].file.contentType], [true, 50, 'image/png']);
    assert.equal(answers[5].error.code, 'not_found');
    assert.equal(answers[6].error.code, 'invalid_request');
    assert.equal(answers[7].error.code, 'invalid_request', 'a name given twice in one batch');
    assert.deepEqual(
      h.bss.stats.slice(statsBefore).sort(),
      [`${alice.name}/robotics/${absent}`, `${alice.name}/robotics/${statted}`].sort(),
    );
    const names = (await h.call('GET', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token))
      .json()
      .files.map((f: { name: string }) => f.name);
    assert.deepEqual(names, ['good', 'statted']);
  });

  test('the quota is checked for the batch’s new bytes together, and nothing is written when it refuses', async () => {
    const alice = await h.user('alice');
    const [a, b, c] = ['a', 'b', 'c'].map(hashOf);
    const ok = await h.call('POST', url(alice.name, 'batch'), alice.token, {
      files: [{ name: 'a', hash: a, type: 'files', receipt: receipt(alice.name, a!, 6_000) }],
    });
    assert.equal(ok.statusCode, 200);
    const over = await h.call('POST', url(alice.name, 'batch'), alice.token, {
      files: [
        { name: 'b', hash: b, type: 'files', receipt: receipt(alice.name, b!, 2_000) },
        { name: 'c', hash: c, type: 'files', receipt: receipt(alice.name, c!, 2_001) },
      ],
    });
    assert.equal(over.statusCode, 413);
    assert.equal(over.json().error.code, 'too_large');
    const names = (await h.call('GET', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token))
      .json()
      .files.map((f: { name: string }) => f.name);
    assert.deepEqual(names, ['a']);
    const replace = await h.call('POST', url(alice.name, 'batch'), alice.token, {
      files: [
        { name: 'a', hash: b, type: 'files', receipt: receipt(alice.name, b!, 2_000) },
        { name: 'c', hash: c, type: 'files', receipt: receipt(alice.name, c!, 6_000) },
      ],
    });
    assert.equal(replace.statusCode, 413, 'a replaced blob frees nothing while an older snapshot names it');
    const fits = await h.call('POST', url(alice.name, 'batch'), alice.token, {
      files: [
        { name: 'a', hash: b, type: 'files', receipt: receipt(alice.name, b!, 2_000) },
        { name: 'c', hash: c, type: 'files', receipt: receipt(alice.name, c!, 2_000) },
      ],
    });
    assert.equal(fits.statusCode, 200, fits.body);
  });

  test('batch register needs a writer (403 for a reader, 404 outside); 413 over 1000 entries', async () => {
    const [owner, reader, outsider] = [await h.user('own'), await h.user('rea'), await h.user('out')];
    const org = `org-register-${engine}`;
    await h.call('POST', '/orgs', owner.token, { name: org });
    await h.call('PUT', `/orgs/${org}/members/${reader.name}`, owner.token, { role: 'reader' });
    const hash = hashOf('x');
    const files = [{ name: 'x', hash, type: 'files', receipt: receipt(org, hash, 1) }];
    assert.equal((await h.call('POST', url(org, 'batch'), reader.token, { files })).statusCode, 403);
    assert.equal((await h.call('POST', url(org, 'batch'), outsider.token, { files })).statusCode, 404);
    assert.equal((await h.call('POST', url(org, 'batch'), owner.token, { files })).statusCode, 200);
    const many = Array.from({ length: 1001 }, (_, i) => ({ name: `f${i}`, hash, type: 'files' }));
    const over = await h.call('POST', url(org, 'batch'), owner.token, { files: many });
    assert.equal(over.statusCode, 413);
    assert.equal(over.json().error.maxFiles, 1000);
  });

  test('the single-file register route takes a receipt too', async () => {
    const alice = await h.user('alice');
    const [a, b] = [hashOf('a'), hashOf('b')];
    const statsBefore = h.bss.stats.length;
    const res = await h.call('POST', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token, {
      name: 'a.mp4',
      hash: a,
      type: 'videos',
      receipt: receipt(alice.name, a, 77),
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual([res.json().file.size, res.json().file.contentType], [77, 'video/mp4']);
    assert.equal(h.bss.stats.length, statsBefore);
    const bad = await h.call('POST', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token, {
      name: 'b.mp4',
      hash: b,
      type: 'videos',
      receipt: receipt(alice.name, a, 77),
    });
    assert.equal(bad.statusCode, 403);
    assert.equal(bad.json().error.code, 'bad_signature');
  });
});

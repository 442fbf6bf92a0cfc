import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';
import { allPages, blobs, commitTracked, type Expected, type Manifests, type Owner } from './helpers/versions.ts';

interface Listed {
  name: string;
  hash: string;
  size: number;
  type: string;
}

const pad = (i: number) => String(i).padStart(4, '0');
/** 600 names in four folders. */
const NAMES = Array.from({ length: 600 }, (_, i) => `d${i % 4}/f${pad(i)}.bin`);

forEachEngine((engine) => {
  const h = useHarness(engine);
  const space = 'hist';
  let owner: Owner;
  let a: Expected[];
  let b: Expected[];
  const manifests: Manifests = [new Map()];
  const files = (query = '') => `/namespaces/${owner.name}/spaces/${space}/files${query}`;

  /** Every entry of `params`' listing, page after page. */
  const listing = async (params: Record<string, string>) =>
    (await allPages<Listed>(h, owner.token, files(), params, 'files')).flat();
  const asExpected = (m: Map<string, Expected>, prefix = '') =>
    [...m]
      .filter(([name]) => name.startsWith(prefix))
      .sort(([x], [y]) => (x < y ? -1 : 1))
      .map(([name, e]) => ({ name, hash: e.hash, size: e.size, type: e.type }));
  const listed = (entries: Listed[]) => entries.map(({ name, hash, size, type }) => ({ name, hash, size, type }));

  before(async () => {
    owner = await h.user('versions');
    a = blobs(h, owner, space, 'a', 400);
    b = blobs(h, owner, space, 'b', 200);
    // 1: 600 names. 2: 150 changed, 100 removed, 120 added. 3: a folder removed, 25 names changed
    // back to what they were at 1. 4: the removed folder partly written again, with other blobs.
    await commitTracked(h, owner, space, manifests, {
      puts: NAMES.map((name, i) => ({ name, blob: a[i % 400]! })),
    });
    await commitTracked(h, owner, space, manifests, {
      puts: [
        ...NAMES.flatMap((name, i) => (i % 4 === 1 ? [{ name, blob: b[i % 200]! }] : [])),
        ...Array.from({ length: 120 }, (_, k) => ({ name: `new/n${pad(k)}`, blob: b[k]! })),
      ],
      deletes: NAMES.filter((_, i) => i % 4 === 2 && i < 400),
    });
    await commitTracked(h, owner, space, manifests, {
      puts: NAMES.flatMap((name, i) => (i % 4 === 1 && i < 100 ? [{ name, blob: a[i % 400]! }] : [])),
      deletePrefixes: ['d3/'],
    });
    await commitTracked(h, owner, space, manifests, {
      puts: NAMES.flatMap((name, i) => (i % 4 === 3 && i < 200 ? [{ name, blob: b[(i + 7) % 200]! }] : [])),
    });
  });

  test('each version lists exactly its own files, page after page, after later commits changed and removed names', async () => {
    assert.deepEqual(
      manifests.map((m) => m.size),
      [0, 600, 620, 470, 520],
    );
    for (let version = 1; version < manifests.length; version++) {
      const entries = await listing({ version: String(version), limit: '97' });
      assert.deepEqual(listed(entries), asExpected(manifests[version]!), `version ${version}`);
      assert.equal(new Set(entries.map((e) => e.name)).size, entries.length, 'no name twice');
    }
  });

  test('a prefix keeps to a folder at a version; head is the default and equals its own version', async () => {
    for (const version of [1, 2, 3]) {
      const folder = await listing({ version: String(version), prefix: 'd1/', limit: '40' });
      assert.deepEqual(listed(folder), asExpected(manifests[version]!, 'd1/'), `d1/ at ${version}`);
    }
    assert.deepEqual(await listing({ version: '3', prefix: 'd3/' }), []);
    const head = await listing({});
    assert.deepEqual(listed(head), asExpected(manifests[4]!));
    assert.deepEqual(await listing({ version: '4' }), head);
  });

  test('version 0 is empty; a version the space never had is 404; a malformed or empty one is 400', async () => {
    assert.deepEqual(await listing({ version: '0' }), []);
    const unknown = await h.call('GET', files('?version=5'), owner.token);
    assert.equal(unknown.statusCode, 404, unknown.body);
    assert.equal(unknown.json().error.code, 'not_found');
    // An empty value (or spaces) is no version, not the empty version 0; nor are other spellings of a number.
    for (const bad of ['', '%20', '-1', 'x', '1.5', '+1', '01', '00', '1e0', '0x1', '%201', '2147483648']) {
      const res = await h.call('GET', files(`?version=${bad}`), owner.token);
      assert.equal(res.statusCode, 400, `files?version=${bad}: ${res.body}`);
      assert.equal(res.json().error.code, 'invalid_request');
      const download = await h.call('GET', files(`/download?name=${NAMES[0]}&version=${bad}`), owner.token);
      assert.equal(download.statusCode, 400, `download?version=${bad}: ${download.body}`);
    }
    assert.equal((await h.call('GET', files(`/download?name=${NAMES[0]}&version=1`), owner.token)).statusCode, 200);
    const stranger = await h.user('stranger');
    assert.equal((await h.call('GET', files('?version=1'), stranger.token)).statusCode, 404);
  });

  test('a download at an old version serves the blob the name had then, and names removed since', async () => {
    const changed = NAMES[1]!; // changed at 2 and back at 3
    const removed = NAMES[2]!; // removed at 2
    const grant = async (name: string, version?: number) => {
      const query = new URLSearchParams({ name, ...(version === undefined ? {} : { version: String(version) }) });
      return h.call('GET', files(`/download?${query}`), owner.token);
    };
    const at = async (name: string, version?: number) => {
      const res = await grant(name, version);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(new URL(body.url).searchParams.get('hash'), body.hash, 'the URL is for that blob');
      return body.hash as string;
    };
    assert.equal(await at(changed, 1), a[1]!.hash);
    assert.equal(await at(changed, 2), b[1]!.hash);
    assert.equal(await at(changed), a[1]!.hash);
    assert.equal(await at(removed, 1), a[2]!.hash);
    assert.equal((await grant(removed)).statusCode, 404);
    assert.equal((await grant(removed, 2)).statusCode, 404);
    assert.equal((await grant(changed, 9)).statusCode, 404);

    // A batch at version 1: every name of it, with the blob each had then.
    const names = NAMES.slice(0, 300);
    const batch = await h.call('POST', '/downloads/batch', owner.token, {
      namespace: owner.name,
      space,
      version: 1,
      files: names.map((name) => ({ name })),
    });
    assert.equal(batch.statusCode, 200, batch.body);
    const answers = batch.json().files as Array<{ name: string; hash: string; error?: unknown }>;
    assert.deepEqual(
      answers.map((f) => [f.name, f.hash]),
      names.map((name) => [name, manifests[1]!.get(name)!.hash]),
    );
    const atHead = await h.call('POST', '/downloads/batch', owner.token, {
      namespace: owner.name,
      space,
      files: names.map((name) => ({ name })),
    });
    const headAnswers = atHead.json().files as Array<{ hash?: string; error?: { code: string } }>;
    // d2/ below 400 was removed at 2; d3/ at 3, and written again below 200 at 4.
    assert.equal(headAnswers.filter((f) => f.error?.code === 'not_found').length, 75 + 25);
    const unknown = await h.call('POST', '/downloads/batch', owner.token, {
      namespace: owner.name,
      space,
      version: 9,
      files: [{ name: changed }],
    });
    assert.equal(unknown.statusCode, 404, unknown.body);
  });

  test('paging through a version while commits land neither skips nor repeats a name', async () => {
    const query = (cursor?: string) =>
      new URLSearchParams({ version: '2', limit: '150', ...(cursor === undefined ? {} : { cursor }) });
    const first = await h.call('GET', files(`?${query()}`), owner.token);
    const seen: Listed[] = first.json().files;
    let cursor: string | undefined = first.json().next;
    // Between pages: names before and after the cursor change, a folder goes, names come back.
    await commitTracked(h, owner, space, manifests, {
      puts: NAMES.flatMap((name, i) => (i % 4 === 0 ? [{ name, blob: b[(i + 3) % 200]! }] : [])),
      deletePrefixes: ['new/'],
    });
    let turns = 0;
    while (cursor !== undefined) {
      const res = await h.call('GET', files(`?${query(cursor)}`), owner.token);
      assert.equal(res.statusCode, 200, res.body);
      seen.push(...res.json().files);
      cursor = res.json().next;
      if (++turns === 1) {
        await commitTracked(h, owner, space, manifests, { deletes: NAMES.filter((_, i) => i % 4 === 1 && i > 300) });
      }
    }
    assert.deepEqual(listed(seen), asExpected(manifests[2]!));
    assert.deepEqual(listed(await listing({})), asExpected(manifests[6]!), 'head moved on');
  });
});

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { forEachEngine } from './helpers/engines.ts';
import { sha256, useHarness } from './helpers/harness.ts';

/** Names in an order that is not the order they were registered in, some under `b/`. */
const NAMES = Array.from({ length: 2500 }, (_, i) => {
  const n = (i * 7919) % 2500;
  return n % 5 === 0 ? `b/${String(n).padStart(4, '0')}.txt` : `a/${String(n).padStart(4, '0')}.bin`;
});

interface Page {
  files: Array<{ name: string }>;
  next?: string;
}

forEachEngine((engine) => {
  const h = useHarness(engine);
  let owner: { name: string; token: string };
  const url = (query = '') => `/namespaces/${owner.name}/spaces/big/files${query}`;
  const page = async (query: string): Promise<Page> => {
    const res = await h.call('GET', url(query), owner.token);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as Page;
  };
  /** Every page from the first, as a client follows `next`. */
  const all = async (params: Record<string, string>): Promise<Page[]> => {
    const pages: Page[] = [];
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams({ ...params, ...(cursor ? { cursor } : {}) });
      const one = await page(`?${query}`);
      pages.push(one);
      cursor = one.next;
    } while (cursor !== undefined && pages.length < 100);
    return pages;
  };

  before(async () => {
    owner = await h.user('pager');
    const hashes = ['one', 'two', 'three'].map((t) => sha256(`${engine}-${t}`));
    for (const hash of hashes) h.bss.put(owner.name, 'big', hash, 10);
    for (let start = 0; start < NAMES.length; start += 1000) {
      const files = NAMES.slice(start, start + 1000).map((name, i) => ({ name, hash: hashes[i % 3], type: 'files' }));
      const res = await h.call('POST', url('/batch'), owner.token, { files });
      assert.equal(res.statusCode, 200, res.body);
    }
  });

  test('a space of 2,500 names comes in pages of at most 1,000 by default, in name order, each name once', async () => {
    const pages = await all({});
    assert.deepEqual(
      pages.map((p) => p.files.length),
      [1000, 1000, 500],
    );
    assert.equal(pages.at(-1)?.next, undefined, 'the last page has no next');
    const names = pages.flatMap((p) => p.files.map((f) => f.name));
    assert.deepEqual(names, [...NAMES].sort());
  });

  test('limit sets the page size up to 10,000; prefix keeps to a folder across pages', async () => {
    assert.deepEqual(
      (await all({ limit: '700' })).map((p) => p.files.length),
      [700, 700, 700, 400],
    );
    const whole = await all({ limit: '10000' });
    assert.deepEqual(
      whole.map((p) => p.files.length),
      [2500],
    );
    const folder = await all({ limit: '150', prefix: 'b/' });
    assert.deepEqual(
      folder.map((p) => p.files.length),
      [150, 150, 150, 50],
    );
    assert.deepEqual(
      folder.flatMap((p) => p.files.map((f) => f.name)),
      NAMES.filter((n) => n.startsWith('b/')).sort(),
    );
    assert.deepEqual((await page('?prefix=c/')).files, []);
  });

  test('a bad limit or cursor is 400 invalid_request', async () => {
    for (const query of [
      '?limit=0',
      '?limit=10001',
      '?limit=abc',
      '?limit=1.5',
      '?cursor=%25%25',
      '?cursor=',
      '?prefix=a%00',
    ]) {
      const res = await h.call('GET', url(query), owner.token);
      assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
      assert.equal((res.json() as { error: { code: string } }).error.code, 'invalid_request', query);
    }
  });
});

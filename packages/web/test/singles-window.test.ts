import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, test } from 'node:test';
import { SinglesWindow } from '../src/engine/singles-window.ts';

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

interface Seen {
  files: number;
  body: Buffer;
  answer(): void;
}

/** A BSS whose `/upload/singles` answers only when the test says so; each request's body is kept. */
function heldBss(): { seen: Seen[]; open: () => number; most: () => number } {
  const seen: Seen[] = [];
  let open = 0;
  let most = 0;
  globalThis.fetch = (async (_url: unknown, init: { body: Blob }) => {
    const body = Buffer.from(await init.body.arrayBuffer());
    const head = JSON.parse(body.subarray(0, body.indexOf(10)).toString()) as { files: unknown[] };
    open += 1;
    most = Math.max(most, open);
    return new Promise<Response>((resolve) => {
      seen.push({
        files: head.files.length,
        body,
        answer: () => {
          open -= 1;
          const files = head.files.map((_, index) => ({ index, hash: 'h', size: 1 }));
          resolve(new Response(JSON.stringify({ files }), { status: 200 }));
        },
      });
    });
  }) as typeof fetch;
  return { seen, open: () => open, most: () => most };
}

const url = (i: number) => `http://bss.test/files/upload/single?size=20&n=${i}`;
const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

test('a folder of small files goes to BSS a few bundles at a time, the files that come meanwhile filling the bundles waiting for their turn', async () => {
  const bss = heldBss();
  const window = new SinglesWindow(() => Promise.reject(new Error('not used')), 8);
  const signal = new AbortController().signal;
  const sent: Array<Promise<unknown>> = [];
  // 1,000 files come a few at a time, as their grants answer them.
  for (let i = 0; i < 1000; i += 1) {
    sent.push(window.send(url(i), new Blob([randomBytes(20)]), 'application/octet-stream', signal));
    if (i % 50 === 49) await tick();
  }
  await tick();
  assert.equal(bss.open(), 8, 'eight bundles at BSS');
  const sizes: number[] = [];
  // BSS answers them one at a time: each answer lets one waiting bundle go.
  while (bss.seen.some((s) => s.files > 0)) {
    const next = bss.seen.find((s) => s.files > 0) as Seen;
    sizes.push(next.files);
    next.answer();
    next.files = 0;
    await tick();
    assert.ok(bss.open() <= 8);
  }
  await Promise.all(sent);
  assert.equal(bss.most(), 8, 'never more than eight bundles at once');
  // Those that waited for a turn went full (100 files), but the last.
  const waited = sizes.slice(8, -1);
  assert.ok(waited.length > 0 && waited.every((n) => n === 100), `bundles of ${sizes.join(', ')} files`);
  assert.equal(
    sizes.reduce((a, b) => a + b, 0),
    1000,
  );
});

test("a bundle sends each file's bytes kept from its hashing, and reads the files without them", async () => {
  const bss = heldBss();
  const window = new SinglesWindow(() => Promise.reject(new Error('not used')));
  const signal = new AbortController().signal;
  const kept = randomBytes(20);
  const onDisk = randomBytes(20);
  const sent = [
    // The Blob says other bytes than those hashed (the file changed since): the hashed ones go.
    window.send(url(0), new Blob([randomBytes(20)]), 'text/plain', signal, new Uint8Array(kept)),
    window.send(url(1), new Blob([onDisk]), 'text/plain', signal),
  ];
  await tick();
  assert.equal(bss.seen.length, 1);
  const { body } = bss.seen[0] as Seen;
  assert.deepEqual(body.subarray(body.indexOf(10) + 1), Buffer.concat([kept, onDisk]));
  (bss.seen[0] as Seen).answer();
  await Promise.all(sent);
});

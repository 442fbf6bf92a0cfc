/**
 * The multipart engine (client/multipart.ts) over a fake BSS behind a fake
 * fetch: the JSON steps go through BssApi as they do against the real services, the part PUTs
 * through the engine's PartIO. Files are 2 GiB (128 parts of 16 MiB): the engine never reads a
 * byte itself, so a part's check here is a number derived from its part number.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BssApi,
  choosePartSize,
  type FetchLike,
  isTransient,
  type MultipartState,
  type MultipartStore,
  MultipartUpload,
  type PartIO,
  ProtocolError,
  transport,
} from '../src/client/index.ts';
import { type PartCheck, type PartRange, partCount, type UploadGrant } from '../src/index.ts';
import { crc32Base64, crc32Etag } from '../src/part-checks.ts';

const MIB = 1024 * 1024;
const SIZE = 2048 * MIB;
const PART_SIZE = choosePartSize(SIZE);
const PARTS = partCount(SIZE, PART_SIZE);

/** The CRC-32 of a part as this test's "file" has it. */
const crcOf = (n: number): string => crc32Base64(Math.imul(n, 2654435761) >>> 0);

function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every promise that can settle now settle (several turns of the event loop). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise((r) => setImmediate(r));
}

/**
 * BSS as the engine sees it: grants of some generation (an older one can be declared expired),
 * part URLs of some generation (likewise), parts stored with the disk backend's CRC-32 ETag.
 */
class FakeBss {
  grantGen = 1;
  /** Grants of a generation below this answer 403 expired_signature. */
  grantsValidFrom = 1;
  /** Part URLs minted below this generation answer 403 expired_signature. */
  urlsValidFrom = 0;
  urlGen = 0;
  readonly parts = new Map<number, { etag: string; size: number }>();
  readonly calls: string[] = [];
  uploadId = 'u1';
  inits = 0;
  completed: Array<{ partNumber: number; etag: string }> | undefined;
  completes = 0;
  /** Every complete answers invalid_part, whatever parts it names. */
  refuseEveryComplete = false;
  /** Called before a part is stored: may throw (a failure) or wait (a part held on the wire). */
  onPut: (n: number) => Promise<void> | void = () => {};

  grant(): UploadGrant {
    const g = this.grantGen;
    return {
      initUrl: `https://bss.test/g${g}/init`,
      partsUrl: `https://bss.test/g${g}/parts`,
      partsDoneUrl: `https://bss.test/g${g}/parts-done`,
      completeUrl: `https://bss.test/g${g}/complete`,
      abortUrl: `https://bss.test/g${g}/abort`,
    };
  }

  readonly fetch: FetchLike = async (url, init) => {
    const u = new URL(url);
    const [, gen, step] = u.pathname.split('/');
    this.calls.push(step ?? '');
    const answer = (status: number, body: unknown) => ({
      status,
      headers: { get: () => null },
      text: async () => JSON.stringify(body),
    });
    if (Number(gen?.slice(1)) < this.grantsValidFrom) {
      return answer(403, { error: { code: 'expired_signature', message: 'the signature has expired' } });
    }
    const body = init.body ? JSON.parse(init.body) : {};
    switch (step) {
      case 'init':
        this.inits += 1;
        return answer(200, { uploadId: this.uploadId, key: 'k', partCheck: 'crc32' });
      case 'parts-done':
        return answer(200, {
          expired: u.searchParams.get('uploadId') !== this.uploadId,
          parts: [...this.parts].map(([partNumber, p]) => ({ partNumber, ...p })),
        });
      case 'parts': {
        this.urlGen += 1;
        const parts: Record<string, string> = {};
        for (const n of body.partNumbers as number[]) {
          assert.equal(body.checksumCrc32[String(n)], crcOf(n), `part ${n}'s URL is asked with its CRC-32`);
          parts[String(n)] = `https://bss.test/part?n=${n}&gen=${this.urlGen}&crc=${encodeURIComponent(crcOf(n))}`;
        }
        return answer(200, { parts });
      }
      case 'complete': {
        this.completes += 1;
        const bare = (etag: string) => etag.replace(/"/g, '');
        const wrong = (body.parts as Array<{ partNumber: number; etag: string }>).find(
          (p) => this.refuseEveryComplete || bare(this.parts.get(p.partNumber)?.etag ?? '') !== bare(p.etag),
        );
        if (wrong) {
          return answer(400, { error: { code: 'invalid_part', message: `part ${wrong.partNumber} was not uploaded` } });
        }
        this.completed = body.parts;
        return answer(200, { success: true, key: 'k', hash: 'h', size: SIZE, contentType: 'video/mp4' });
      }
      default:
        return answer(404, { error: { code: 'not_found', message: 'no route' } });
    }
  };

  /** A part PUT: its URL's generation and check are checked, then the part is stored. */
  async put(url: string, part: PartRange, headers: Record<string, string>): Promise<string> {
    const u = new URL(url);
    const n = Number(u.searchParams.get('n'));
    assert.equal(n, part.partNumber);
    assert.equal(
      headers['x-amz-checksum-crc32'],
      u.searchParams.get('crc'),
      'the PUT carries the CRC-32 its URL binds',
    );
    if (Number(u.searchParams.get('gen')) < this.urlsValidFrom) {
      throw new ProtocolError(403, 'expired_signature', 'the part URL has expired');
    }
    await this.onPut(n);
    const size = part.end - part.start;
    const etag = crc32Etag(crcOf(n), size);
    this.parts.set(n, { etag, size });
    return etag;
  }
}

class MemoryStore implements MultipartStore {
  state: MultipartState | undefined;
  saves = 0;
  removed = false;

  async load(): Promise<MultipartState | undefined> {
    return this.state ? structuredClone(this.state) : undefined;
  }
  async save(state: MultipartState): Promise<void> {
    this.saves += 1;
    this.state = structuredClone(state);
  }
  async remove(): Promise<void> {
    this.removed = true;
    this.state = undefined;
  }
}

interface Rig {
  bss: FakeBss;
  store: MemoryStore;
  puts: number[];
  refreshes: number;
  notes: string[];
  opened: number[];
  upload(options?: { concurrency?: number; retry?: <T>(task: () => Promise<T>) => Promise<T> }): MultipartUpload;
}

function rig(): Rig {
  const bss = new FakeBss();
  const r: Rig = {
    bss,
    store: new MemoryStore(),
    puts: [],
    refreshes: 0,
    notes: [],
    opened: [],
    upload(options = {}) {
      const io: PartIO = {
        knownCheck: (check: PartCheck, part: PartRange) => (check === 'crc32' ? crcOf(part.partNumber) : undefined),
        computeCheck: async () => assert.fail('every CRC-32 is known'),
        put: async (url, part, headers) => {
          r.puts.push(part.partNumber);
          return bss.put(url, part, headers);
        },
      };
      return new MultipartUpload({
        bss: new BssApi(transport({ fetch: bss.fetch })),
        grants: {
          signed: true,
          first: bss.grant(),
          refresh: async () => {
            r.refreshes += 1;
            bss.grantGen += 1;
            return bss.grant();
          },
        },
        size: SIZE,
        partSize: PART_SIZE,
        init: { contentType: 'video/mp4', filename: 'take.mp4', size: SIZE },
        io,
        store: r.store,
        concurrency: options.concurrency ?? 4,
        ...(options.retry ? { retry: options.retry } : {}),
        events: {
          note: (message) => r.notes.push(message),
          opened: (done) => r.opened.push(...done.map((p) => p.partNumber)),
        },
      });
    },
  };
  return r;
}

const allParts = (): number[] => Array.from({ length: PARTS }, (_, i) => i + 1);

describe('the multipart engine', () => {
  test('a 2 GiB file goes as 128 parts of 16 MiB, URLs fetched 50 at a time, then complete; the resume state is gone', async () => {
    const r = rig();
    const result = await r.upload().run();
    assert.equal(PARTS, 128);
    assert.equal(result.sent, PARTS);
    assert.deepEqual(
      [...r.puts].sort((a, b) => a - b),
      allParts(),
    );
    assert.equal(r.bss.calls.filter((c) => c === 'parts').length, Math.ceil(PARTS / 50));
    assert.deepEqual(
      r.bss.completed?.map((p) => p.partNumber),
      allParts(),
    );
    assert.ok(r.store.removed && r.store.state === undefined);
    assert.ok(r.store.saves >= PARTS, 'the state is saved as parts are stored');
  });

  test('a complete refused because BSS lost parts it had answered: those parts are sent again, then it completes', async () => {
    const r = rig();
    // BSS answered every part, then lost parts 7 and 90 (an unclean stop before they reached
    // its disk) and dropped them when it checked them.
    r.bss.onPut = () => {
      if (r.puts.length === PARTS) for (const lost of [7, 90]) queueMicrotask(() => r.bss.parts.delete(lost));
      return settle();
    };
    const result = await r.upload().run();
    assert.equal(r.bss.completes, 2, 'one refused complete, then one that succeeds');
    assert.deepEqual(
      r.puts.slice(PARTS).sort((a, b) => a - b),
      [7, 90],
      'only the lost parts are sent again',
    );
    assert.equal(result.sent, PARTS + 2);
    assert.deepEqual(
      r.bss.completed?.map((p) => p.partNumber),
      allParts(),
    );
    assert.ok(r.notes.some((note) => /parts 7, 90/.test(note)));
    assert.ok(r.store.removed && r.store.state === undefined);
  });

  test('a complete refused while BSS holds every part: no part is sent again, the refusal stands and the next run starts afresh', async () => {
    const r = rig();
    r.bss.refuseEveryComplete = true;
    await assert.rejects(r.upload().run(), (error: Error & { code?: string }) => error.code === 'invalid_part');
    assert.equal(r.puts.length, PARTS);
    assert.equal(r.bss.completes, 1);
    assert.ok(r.store.removed && r.store.state === undefined);
  });

  test('resumes from parts-done: sends only the parts BSS does not hold as ours, opens nothing new', async () => {
    const r = rig();
    // An earlier run stored parts 1–60; part 61 holds another file's bytes and part 62 is short.
    for (let n = 1; n <= 60; n += 1) r.bss.parts.set(n, { etag: crc32Etag(crcOf(n), PART_SIZE), size: PART_SIZE });
    r.bss.parts.set(61, { etag: crc32Etag(crcOf(9999), PART_SIZE), size: PART_SIZE });
    r.bss.parts.set(62, { etag: crc32Etag(crcOf(62), PART_SIZE - 1), size: PART_SIZE - 1 });
    r.store.state = { uploadId: 'u1', key: 'k', partSize: PART_SIZE, partsTotal: PARTS, partCheck: 'crc32', done: {} };

    const result = await r.upload().run();
    assert.equal(r.bss.inits, 0, 'the saved upload is continued, not opened again');
    assert.deepEqual(
      r.opened,
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    const expected = allParts().filter((n) => n > 60);
    assert.deepEqual(
      [...r.puts].sort((a, b) => a - b),
      expected,
    );
    assert.equal(result.sent, expected.length);
    assert.deepEqual(
      r.bss.completed?.map((p) => p.partNumber),
      allParts(),
    );
    assert.equal(
      r.bss.completed?.[60]?.etag,
      crc32Etag(crcOf(61), PART_SIZE),
      "part 61 completes with our bytes' ETag",
    );
  });

  test('a saved upload BSS no longer knows is opened afresh', async () => {
    const r = rig();
    r.store.state = {
      uploadId: 'gone',
      key: 'k',
      partSize: PART_SIZE,
      partsTotal: PARTS,
      partCheck: 'crc32',
      done: {},
    };
    const result = await r.upload().run();
    assert.equal(r.bss.inits, 1);
    assert.equal(result.sent, PARTS);
  });

  test('expired part URLs are fetched again, and an expired grant is renewed once however many requests notice', async () => {
    const r = rig();
    let stored = 0;
    r.bss.onPut = () => {
      stored += 1;
      // A third of the way in, every URL and the grant itself run out (a laptop lid closed, say).
      if (stored === 40) {
        r.bss.urlsValidFrom = r.bss.urlGen + 1;
        r.bss.grantsValidFrom = r.bss.grantGen + 1;
      }
    };
    const result = await r.upload().run();
    assert.equal(result.sent, PARTS);
    assert.equal(r.refreshes, 1, 'one renewal of the grant');
    assert.deepEqual(
      r.bss.completed?.map((p) => p.partNumber),
      allParts(),
    );
    assert.ok(r.notes.includes('part URLs expired: fetching fresh ones'));
    assert.ok(r.notes.includes('signed URLs expired: asking the server for fresh ones'));
    // The parts whose URLs had run out were put again with fresh ones.
    assert.ok(r.puts.length > PARTS);
  });

  test('a part failing with a transient error is retried by the retry policy, and the upload completes', async () => {
    const r = rig();
    const failed = new Set<number>();
    r.bss.onPut = (n) => {
      if (n % 10 === 7 && !failed.has(n)) {
        failed.add(n);
        throw new ProtocolError(503, 'unavailable', 'try again');
      }
    };
    let retried = 0;
    const retry = async <T>(task: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await task();
        } catch (error) {
          if (!isTransient(error) || attempt >= 3) throw error;
          retried += 1;
        }
      }
    };
    const result = await r.upload({ retry }).run();
    assert.equal(result.sent, PARTS);
    assert.equal(retried, failed.size);
    assert.equal(failed.size, 13);
    for (const n of failed) assert.equal(r.puts.filter((p) => p === n).length, 2, `part ${n} went twice`);
  });

  test('one part failing: no new part starts, the parts on the wire finish, and only then the failure is reported', async () => {
    const r = rig();
    const order: string[] = [];
    const release = deferred();
    const fourOnTheWire = deferred();
    let onTheWire = 0;
    r.bss.onPut = async (n) => {
      order.push(`start ${n}`);
      onTheWire += 1;
      if (onTheWire === 4) fourOnTheWire.resolve();
      if (n === 3) {
        await fourOnTheWire.promise;
        order.push('fail 3');
        throw new ProtocolError(400, 'invalid_request', 'refused');
      }
      await release.promise;
      order.push(`finish ${n}`);
    };
    let reported = false;
    const running = r
      .upload()
      .run()
      .catch((error: unknown) => {
        reported = true;
        order.push('reported');
        return error;
      });
    await fourOnTheWire.promise;
    await settle();
    // Part 3 has failed while 1, 2 and 4 are still on the wire: nothing is reported yet.
    assert.ok(order.includes('fail 3'));
    assert.equal(reported, false, 'the failure waits for the parts on the wire');
    release.resolve();
    const error = await running;
    assert.equal((error as ProtocolError).code, 'invalid_request');
    assert.deepEqual(order.slice(0, 4).sort(), ['start 1', 'start 2', 'start 3', 'start 4']);
    assert.equal(order[4], 'fail 3');
    assert.equal(order[8], 'reported');
    assert.equal(order.length, 9);
    assert.deepEqual(order.slice(5, 8).sort(), ['finish 1', 'finish 2', 'finish 4']);
    assert.deepEqual(
      [...r.puts].sort((a, b) => a - b),
      [1, 2, 3, 4],
      'no part started after the failure',
    );
    // The parts that finished are kept for the next run.
    assert.deepEqual(Object.keys(r.store.state?.done ?? {}).sort(), ['1', '2', '4']);
    assert.equal(r.bss.completed, undefined);
  });
});

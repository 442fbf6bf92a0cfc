import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { signReceipt } from '@dreamlake/presign';
import { type Service, startService, stopChild } from '../../../support/process.ts';
import { uniqueHash } from './helpers/commits.ts';
import { createTestDatabase, forEachEngine, type TestDatabase } from './helpers/engines.ts';
import { type FakeBss, startFakeBss } from './helpers/fake-bss.ts';
import { JWT_SECRET, PRESIGN_SECRET } from './helpers/harness.ts';
import { SRC } from './helpers/spawn.ts';

/** Entries of the draft each round commits, and the files the space holds before it. */
const DRAFT_ENTRIES = 20_000;
const BASE_FILES = 100;
const ROUNDS = 5;

async function call(base: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the service answers
  return { status: res.status, text, json: (text ? JSON.parse(text) : null) as any };
}

forEachEngine((engine) => {
  let database: TestDatabase;
  let bss: FakeBss;
  let server: Service | undefined;
  before(async () => {
    database = await createTestDatabase(engine);
    bss = await startFakeBss([PRESIGN_SECRET], () => Math.floor(Date.now() / 1000));
  });
  after(async () => {
    await stopChild(server, 'SIGKILL');
    await bss?.close();
    await database?.drop();
  });

  const start = async () => {
    server = await startService(`${SRC}main.ts`, {
      what: 'server',
      timeoutMs: 60_000,
      keep: 400,
      env: {
        DATABASE_URL: database.url,
        PRESIGN_SECRETS: PRESIGN_SECRET,
        JWT_SECRET,
        SNAPSHOT_SIGNING_KEYS: randomBytes(32).toString('base64url'),
        BSS_INTERNAL_URL: bss.url,
        SERVER_PORT: '0',
        LOG_LEVEL: 'info',
        SCRYPT_LOG_N: '10',
        ALLOW_SIGNUP: '1',
        BLOB_GC_INTERVAL_SECONDS: '0',
      },
    });
    return server.url;
  };
  const kill = async () => {
    server?.child.kill('SIGKILL');
    await server?.done;
    server = undefined;
  };

  test('a server killed at any moment of a 20,000-entry commit comes back with head the parent or the new version, listed whole', async () => {
    let url = await start();
    const signup = await call(url, 'POST', '/auth/signup', undefined, {
      username: `crash-${engine}`,
      password: 'correct horse battery',
    });
    assert.equal(signup.status, 201, signup.text);
    const token = signup.json.token as string;
    const ns = `crash-${engine}`;
    const put = (space: string, name: string) => {
      const hash = uniqueHash(`${space}/${name}`);
      const receipt = signReceipt(
        [PRESIGN_SECRET],
        { owner: ns, project: space, hash, size: 10, contentType: 'application/octet-stream' },
        Math.floor(Date.now() / 1000),
        3600,
      );
      return { name, hash, type: 'files', receipt };
    };
    /** A space at version 1 with BASE_FILES files, and a draft on it holding DRAFT_ENTRIES puts. */
    const prepare = async (space: string) => {
      const path = `/namespaces/${ns}/spaces/${space}`;
      const base = Array.from({ length: BASE_FILES }, (_, i) => put(space, `base/${i}`));
      assert.equal((await call(url, 'POST', `${path}/commits`, token, { puts: base })).status, 201);
      const draft = await call(url, 'POST', `${path}/drafts`, token, { parent: 1 });
      assert.equal(draft.status, 201, draft.text);
      for (let b = 0; b < DRAFT_ENTRIES / 1000; b++) {
        const puts = Array.from({ length: 1000 }, (_, i) => put(space, `run/${b}/${i}`));
        const added = await call(url, 'POST', `${path}/drafts/${draft.json.id}/entries`, token, { puts });
        assert.equal(added.status, 200, added.text);
      }
      return { path, id: draft.json.id as string };
    };
    /** Every name of head, page by page. */
    const listAll = async (path: string) => {
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await call(url, 'GET', `${path}/files?limit=10000${cursor ? `&cursor=${cursor}` : ''}`, token);
        assert.equal(page.status, 200, page.text);
        names.push(...page.json.files.map((f: { name: string }) => f.name));
        cursor = page.json.next;
      } while (cursor);
      return names;
    };

    // How long a commit takes here, uninterrupted: the kills land within it.
    const warm = await prepare('warm');
    const t = Date.now();
    const warmed = await call(url, 'POST', `${warm.path}/drafts/${warm.id}/commit`, token, {});
    const took = Date.now() - t;
    assert.equal(warmed.status, 201, warmed.text);
    assert.equal(warmed.json.snapshot.files, BASE_FILES + DRAFT_ENTRIES);

    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const space = `crash${round}`;
      const { path, id } = await prepare(space);
      const delay = Math.floor(((round + Math.random()) / ROUNDS) * took * 1.3);
      const answer = call(url, 'POST', `${path}/drafts/${id}/commit`, token, {}).then(
        (res) => res.status,
        () => 'cut',
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      await kill();
      const answered = await answer;
      url = await start();

      const head = await call(url, 'GET', `/namespaces/${ns}/spaces/${space}/files?limit=1`, token);
      assert.equal(head.status, 200, head.text);
      const names = await listAll(path);
      const version = names.length === BASE_FILES ? 1 : 2;
      outcomes.push(`killed after ${delay} ms of ~${took}: ${answered}, head ${version}`);
      if (answered === 201) assert.equal(version, 2, 'an answered commit survives');
      const expected = [
        ...Array.from({ length: BASE_FILES }, (_, i) => `base/${i}`),
        ...(version === 2
          ? Array.from({ length: DRAFT_ENTRIES }, (_, k) => `run/${Math.floor(k / 1000)}/${k % 1000}`)
          : []),
      ];
      assert.deepEqual([...names].sort(), expected.sort(), `the listing is exactly version ${version}`);
      const heads = await call(url, 'POST', `${path}/commits`, token, {});
      assert.equal(heads.status, 200);
      assert.equal(heads.json.snapshot.version, version, 'head is the parent or the new version');
      assert.equal(heads.json.snapshot.files, names.length, "head's snapshot counts what is listed");
      if (version === 1) {
        // The draft was not committed: it is still there, and commits now.
        const again = await call(url, 'POST', `${path}/drafts/${id}/commit`, token, {});
        assert.equal(again.status, 201, again.text);
        assert.equal((await listAll(path)).length, BASE_FILES + DRAFT_ENTRIES);
      }
    }
    console.log(`${engine}: ${outcomes.join('; ')}`);
  });
});

/**
 * Versioned spaces against a real server process, on SQLite and (when DREAMLAKE_BENCH_PG_URL or
 * DREAMLAKE_TEST_PG_URL names a PostgreSQL server) on a scratch PostgreSQL database:
 *
 * - a commit of 100,000 entries through a draft (open, batches of 1,000, commit): total time, the
 *   final commit call, the server's peak RSS (VmHWM);
 * - listing head of that 100,000-file space (every page, limit 10,000), then an older version of
 *   it after 1,000 names changed, beside the same rows read straight from the database;
 * - a commit of 10 changes on a 1,000,000-file space, beside the same commit on a 1,000-file space
 *   (the goal: about equal, O(changes)), with the rows each wrote. The large spaces are built
 *   straight in the server's database (one INSERT … SELECT); their hashes are ones the index
 *   holds, which a commit accepts without asking BSS.
 *
 * With `baseline`, the first upload of 1,000 × 20 KiB (the `files` section) runs at HEAD (a built worktree)
 * and on the code before versioning (587e6d6, built once in a git worktree under /tmp/dl-baseline
 * and reused), back to back, and the two are compared.
 *
 *   npm run bench -- --only versions               # the rows above
 *   npm run bench -- --only versions-baseline      # the 1,000 × 20 KiB comparison
 *   node --import tsx scripts/bench-versions.ts [--quick] [--baseline]
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signReceipt } from '@dreamlake/presign';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { BenchRow } from './bench-presign.ts';
import { BenchServices, cleanUpOnSignal, ROOT, removeTemp, tempDir, track, watchPeakRss } from './bench-services.ts';

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const log = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (since: number) => (performance.now() - since) / 1000;
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** A process's peak resident set so far (VmHWM), in MiB. */
function highWaterMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** The code before versioned spaces, and where its worktree is kept between runs. */
export const BASELINE_COMMIT = '587e6d6';
const BASELINE_DIR = '/tmp/dl-baseline';
const FILE_BYTES = 1024;
const CONTENT_TYPE = 'application/octet-stream';

type Engine = 'sqlite' | 'postgres';

/** The server's database, opened beside it by the bench (to build large spaces and count rows). */
interface RawDb {
  engine: Engine;
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

function sqliteDb(path: string): RawDb {
  const db = new Database(path);
  db.pragma('busy_timeout = 30000');
  return {
    engine: 'sqlite',
    query: async <T>(text: string, values: unknown[] = []) => {
      const statement = db.prepare(text);
      if (statement.reader) return statement.all(...values) as T[];
      statement.run(...values);
      return [];
    },
    close: async () => {
      db.close();
    },
  };
}

async function postgresDb(url: string): Promise<RawDb> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    engine: 'postgres',
    query: async <T>(text: string, values: unknown[] = []) => {
      let n = 0;
      return (
        await client.query(
          text.replace(/\?/g, () => `$${++n}`),
          values,
        )
      ).rows as T[];
    },
    close: () => client.end(),
  };
}

/** A scratch PostgreSQL database on the server named by the bench's setting, or undefined. */
async function scratchPostgres(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const admin = process.env.DREAMLAKE_BENCH_PG_URL || process.env.DREAMLAKE_TEST_PG_URL;
  if (!admin) return undefined;
  const name = `dreamlake_bench_${randomBytes(6).toString('hex')}`;
  const run = async (text: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  await run(`create database ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`drop database if exists ${name} with (force)`) };
}

/** A user's calls to one space. */
class SpaceClient {
  constructor(
    readonly serverUrl: string,
    readonly token: string,
    readonly namespace: string,
    readonly space: string,
  ) {}

  get path(): string {
    return `${this.serverUrl}/namespaces/${this.namespace}/spaces/${this.space}`;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.path}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path.split('?')[0]}: ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Every page of a version (head when undefined): the files counted, the pages, the time. */
  async listAll(version?: number, limit = 10_000): Promise<{ files: number; pages: number; seconds: number }> {
    const started = performance.now();
    let cursor: string | undefined;
    let files = 0;
    let pages = 0;
    do {
      const query = new URLSearchParams({ limit: String(limit) });
      if (cursor) query.set('cursor', cursor);
      if (version !== undefined) query.set('version', String(version));
      const page = await this.call<{ files: unknown[]; next?: string }>('GET', `/files?${query}`);
      files += page.files.length;
      pages += 1;
      cursor = page.next;
    } while (cursor);
    return { files, pages, seconds: seconds(started) };
  }
}

type Put = { name: string; hash: string; type: 'files'; receipt?: unknown };

/** The hash of the seeded entry `i` of a space built by seedSpace (16 hex digits of `i` after the space's salt). */
const seededHash = (salt: string, i: number) => `${salt}${i.toString(16).padStart(16, '0')}`;
const seededName = (i: number) =>
  `d${String(Math.floor(i / 1000)).padStart(4, '0')}/f${String(i).padStart(7, '0')}.bin`;

/**
 * Builds a space of `count` entries straight in the server's database as one version (1): an
 * empty commit creates the space, then one INSERT … SELECT writes its `files`, a `snapshots`
 * row and `spaces.head_version`. Entry `i` is named seededName(i) and holds seededHash(salt, i).
 */
async function seedSpace(
  db: RawDb,
  client: SpaceClient,
  count: number,
): Promise<{ spaceId: string; salt: string; seconds: number }> {
  await client.call('POST', '/commits', {});
  const [row] = await db.query<{ id: string; created_by: string }>(
    'select s.id, s.created_by from spaces s join namespaces n on n.id = s.namespace_id where n.name = ? and s.name = ?',
    [client.namespace, client.space],
  );
  if (!row) throw new Error(`space ${client.namespace}/${client.space} was not created`);
  const salt = randomBytes(24).toString('hex');
  const now = new Date().toISOString();
  const started = performance.now();
  const columns =
    'id, space_id, name, type, size, content_type, hash, uploaded_by, created_at, updated_at, from_version';
  if (db.engine === 'sqlite') {
    await db.query('begin');
    await db.query(
      `insert into files (${columns})
       with recursive s(i) as (select 0 union all select i + 1 from s where i < ?)
       select ? || i, ?, printf('d%04d/f%07d.bin', i / 1000, i), 'files', ?, ?, ? || printf('%016x', i), ?, ?, ?, 1 from s`,
      [count - 1, `seed-${salt}-`, row.id, FILE_BYTES, CONTENT_TYPE, salt, row.created_by, now, now],
    );
  } else {
    await db.query('begin');
    await db.query(
      `insert into files (${columns})
       select ? || i, ?, 'd' || lpad((i / 1000)::text, 4, '0') || '/f' || lpad(i::text, 7, '0') || '.bin', 'files', ?, ?,
              ? || lpad(to_hex(i), 16, '0'), ?, ?, ?, 1
       from generate_series(0, ?::int) as i`,
      [`seed-${salt}-`, row.id, FILE_BYTES, CONTENT_TYPE, salt, row.created_by, now, now, count - 1],
    );
  }
  await db.query(
    `insert into snapshots (space_id, version, parent, author, message, created_at, added, changed, removed, files, bytes)
     values (?, 1, null, ?, 'seeded', ?, ?, 0, 0, ?, ?)`,
    [row.id, row.created_by, now, count, count, count * FILE_BYTES],
  );
  await db.query('update spaces set head_version = 1 where id = ?', [row.id]);
  await db.query('commit');
  const took = seconds(started);
  // PostgreSQL's autovacuum would analyze a table grown this much; the bench does it at once.
  if (db.engine === 'postgres') await db.query('analyze');
  return { spaceId: row.id, salt, seconds: took };
}

/** Rows of a space in the three tables a commit writes. */
async function rowsOf(db: RawDb, spaceId: string): Promise<number> {
  let total = 0;
  for (const table of ['files', 'file_history', 'snapshots']) {
    const [row] = await db.query<{ n: number | string }>(`select count(*) as n from ${table} where space_id = ?`, [
      spaceId,
    ]);
    total += Number(row?.n ?? 0);
  }
  return total;
}

/**
 * `rounds` commits of 10 changes each on a seeded space of `count` entries: each points 10 names
 * spread over the space at the hash of their neighbour (a hash the index holds). Times, and rows
 * written per commit.
 */
async function tenFileCommits(
  db: RawDb,
  client: SpaceClient,
  count: number,
  salt: string,
  spaceId: string,
  rounds = 7,
  offset = 0,
) {
  const times: number[] = [];
  const written: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    const puts: Put[] = Array.from({ length: 10 }, (_, k) => {
      const i = Math.floor((k * count) / 10) + offset + r;
      return { name: seededName(i), hash: seededHash(salt, (i + 1) % count), type: 'files' };
    });
    const before = await rowsOf(db, spaceId);
    const started = performance.now();
    const answer = await client.call<{ created: boolean }>('POST', '/commits', { message: `ten ${r}`, puts });
    times.push(seconds(started));
    if (!answer.created) throw new Error('a commit of 10 changes made no version');
    written.push((await rowsOf(db, spaceId)) - before);
  }
  return { times, written };
}

interface EngineRun {
  engine: Engine;
  rows: BenchRow[];
}

export interface VersionBenchOptions {
  /** Entries of the draft's commit (100,000). */
  draftEntries?: number;
  /** Entries of the large space of the 10-change commit (1,000,000). */
  largeSpace?: number;
}

/** The rows of one engine: a fresh server (and, for PostgreSQL, a scratch database). */
async function runOnEngine(engine: Engine, options: Required<VersionBenchOptions>): Promise<EngineRun> {
  const work = await tempDir('dreamlake-bench-versions-');
  const scratch = engine === 'postgres' ? await scratchPostgres() : undefined;
  const databaseUrl = scratch?.url ?? join(work, 'server.sqlite');
  let services: BenchServices | undefined;
  let db: RawDb | undefined;
  const rows: BenchRow[] = [];
  const tag = engine === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  try {
    // One JWT secret, so that a second server on the same database (with a quota) takes the same token.
    const jwtSecret = randomBytes(32).toString('hex');
    services = await BenchServices.start({ serverEnv: { DATABASE_URL: databaseUrl, JWT_SECRET: jwtSecret } });
    db = engine === 'sqlite' ? sqliteDb(databaseUrl) : await postgresDb(databaseUrl);
    const user = await services.signup('versions');
    const space = (name: string) => new SpaceClient(services!.serverUrl, user.token, user.username, name);

    // 1. A commit of N entries through a draft; each put carries the receipt BSS would have given.
    const n = options.draftEntries;
    const big = space('draft');
    const hwmAtStart = highWaterMiB(services.serverPid);
    const peak = watchPeakRss(services.serverPid, 25);
    const started = performance.now();
    const draft = await big.call<{ id: string }>('POST', '/drafts', { message: `${n} entries` });
    const batchTimes: number[] = [];
    const hashes: string[] = [];
    for (let from = 0; from < n; from += 1000) {
      const puts: Put[] = [];
      for (let i = from; i < Math.min(n, from + 1000); i += 1) {
        const hash = randomBytes(32).toString('hex');
        hashes.push(hash);
        const receipt = signReceipt(
          [services.presignSecret],
          { owner: user.username, project: big.space, hash, size: FILE_BYTES, contentType: CONTENT_TYPE },
          Math.floor(Date.now() / 1000),
          3600,
        );
        puts.push({ name: seededName(i), hash, type: 'files', receipt });
      }
      const t = performance.now();
      await big.call('POST', `/drafts/${draft.id}/entries`, { puts });
      batchTimes.push(seconds(t));
    }
    const hwmBeforeCommit = highWaterMiB(services.serverPid);
    const commitStarted = performance.now();
    const committed = await big.call<{ created: boolean; snapshot: { version: number; files: number } }>(
      'POST',
      `/drafts/${draft.id}/commit`,
      {},
    );
    const commitSeconds = seconds(commitStarted);
    const total = seconds(started);
    const peakMiB = peak();
    if (committed.snapshot.files !== n)
      throw new Error(`the draft's commit holds ${committed.snapshot.files} files, not ${n}`);

    // The floor: the same number of rows written by the database itself (one INSERT … SELECT).
    const floorSpace = space('floor');
    const floor = await seedSpace(db, floorSpace, n);
    const floorRate = n / floor.seconds;
    rows.push({
      measure: `${tag}: commit of ${fmt(n)} entries through a draft (open, ${fmt(batchTimes.length)} batches of 1,000 with receipts, commit)`,
      result: `${fmt(total, 1)} s (${fmt(n / total)} entries/s); final commit call ${fmt(commitSeconds, 2)} s; server peak RSS ${fmt(peakMiB, 0)} MiB`,
      rawLimit: `${fmt(floor.seconds, 2)} s: the same ${fmt(n)} rows written into \`files\` by the database itself (one INSERT … SELECT, ${fmt(floorRate)} rows/s)`,
      note: `${fmt(total / floor.seconds, 1)}× the floor; batches: median ${fmt(median(batchTimes) * 1000)} ms, first ${fmt((batchTimes[0] ?? 0) * 1000)} ms, last ${fmt((batchTimes.at(-1) ?? 0) * 1000)} ms; server high-water ${fmt(hwmAtStart, 0)} MiB before the draft, ${fmt(hwmBeforeCommit, 0)} MiB after its batches, before the commit call (the server process only${engine === 'postgres' ? '; PostgreSQL runs apart' : ''})`,
    });

    // 2. Listing head of that space, then an older version after 1,000 names changed.
    const headVersion = committed.snapshot.version;
    const [spaceRow] = await db.query<{ id: string }>(
      'select s.id from spaces s join namespaces n on n.id = s.namespace_id where n.name = ? and s.name = ?',
      [user.username, big.space],
    );
    const rawRead = async () => {
      const t = performance.now();
      const read = await db!.query(
        `select f.id, f.name, f.type, f.size, f.content_type, f.hash, u.username, f.created_at
         from files f join users u on u.id = f.uploaded_by where f.space_id = ? order by f.name`,
        [spaceRow?.id],
      );
      return { files: read.length, seconds: seconds(t) };
    };
    await big.listAll(); // warm-up (page cache, JIT)
    const head = await big.listAll();
    const raw = await rawRead();
    rows.push({
      measure: `${tag}: list head of a ${fmt(n)}-file space (every page of GET …/files, limit 10,000)`,
      result: `${fmt(head.seconds, 2)} s, ${fmt(head.files / head.seconds)} files/s (${head.pages} pages)`,
      rawLimit: `${fmt(raw.seconds, 2)} s, ${fmt(raw.files / raw.seconds)} files/s: the same rows in one query straight from the database`,
      note: `${fmt(raw.seconds / head.seconds, 2)}× the floor's rate; ${fmt(head.files)} files listed`,
    });
    const change: Put[] = Array.from({ length: 1000 }, (_, k) => {
      const i = k * Math.floor(n / 1000);
      return { name: seededName(i), hash: hashes[(i + 1) % n] as string, type: 'files' };
    });
    const t1000 = performance.now();
    await big.call('POST', '/commits', { message: '1,000 changed', puts: change });
    const changeSeconds = seconds(t1000);
    const older = await big.listAll(headVersion);
    const headAfter = await big.listAll();
    rows.push({
      measure: `${tag}: list version ${headVersion} of that space after a commit changed 1,000 names (every page, ?version=${headVersion})`,
      result: `${fmt(older.seconds, 2)} s, ${fmt(older.files / older.seconds)} files/s (${older.pages} pages)`,
      rawLimit: `${fmt(headAfter.seconds, 2)} s, ${fmt(headAfter.files / headAfter.seconds)} files/s: head listed right after`,
      note: `${fmt(older.seconds / headAfter.seconds, 2)}× head's time; ${fmt(older.files)} files listed; the commit of 1,000 changes took ${fmt(changeSeconds, 2)} s`,
    });

    // 3. 10 changes on a 1,000-file space (the floor), then on a 1,000,000-file space.
    const small = space('k1');
    const smallSeed = await seedSpace(db, small, 1000);
    const smallRuns = await tenFileCommits(db, small, 1000, smallSeed.salt, smallSeed.spaceId);
    const large = space('m1');
    log(`  ${tag}: building a space of ${fmt(options.largeSpace)} entries…`);
    const largeSeed = await seedSpace(db, large, options.largeSpace);
    await large.call('GET', '/files?limit=1'); // the first request after the build
    const largeRuns = await tenFileCommits(db, large, options.largeSpace, largeSeed.salt, largeSeed.spaceId);
    const each = (list: readonly number[]) => list.map((s) => fmt(s * 1000)).join(', ');
    rows.push({
      measure: `${tag}: commit of 10 changes (POST …/commits, hashes the index holds) on a ${fmt(options.largeSpace)}-file space`,
      result: `${fmt(median(largeRuns.times) * 1000)} ms (median of ${largeRuns.times.length}: ${each(largeRuns.times)} ms); rows written per commit ${largeRuns.written.join(', ')}`,
      rawLimit: `${fmt(median(smallRuns.times) * 1000)} ms (${each(smallRuns.times)} ms): the same commit on a 1,000-file space; rows written ${smallRuns.written.join(', ')}`,
      note: `${fmt(median(largeRuns.times) / median(smallRuns.times), 2)}× the 1,000-file commit; rows counted in files + file_history + snapshots before and after; the space built in ${fmt(largeSeed.seconds, 1)} s by one INSERT … SELECT${engine === 'postgres' ? ', then ANALYZE' : ''}`,
    });

    // The same commit by a server with a namespace quota (NAMESPACE_QUOTA_BYTES), on the same database.
    const quota = await BenchServices.start({
      serverEnv: { DATABASE_URL: databaseUrl, JWT_SECRET: jwtSecret, NAMESPACE_QUOTA_BYTES: String(2 ** 50) },
    });
    try {
      const withQuota = (name: string) => new SpaceClient(quota.serverUrl, user.token, user.username, name);
      // The floor's space alone in a namespace of its own: the quota sums a whole namespace.
      const other = await services.signup('alone');
      const alone = new SpaceClient(quota.serverUrl, other.token, other.username, 'k1');
      const aloneSeed = await seedSpace(db, alone, 1000);
      const smallQ = await tenFileCommits(db, alone, 1000, aloneSeed.salt, aloneSeed.spaceId, 3);
      const [inNamespace] = await db.query<{ n: number | string }>(
        `select (select count(*) from files f join spaces s on s.id = f.space_id join namespaces n on n.id = s.namespace_id where n.name = ?)
              + (select count(*) from file_history f join spaces s on s.id = f.space_id join namespaces n on n.id = s.namespace_id where n.name = ?) as n`,
        [user.username, user.username],
      );
      const largeQ = await tenFileCommits(
        db,
        withQuota('m1'),
        options.largeSpace,
        largeSeed.salt,
        largeSeed.spaceId,
        3,
        100,
      );
      rows.push({
        measure: `${tag}: the same commit of 10 changes on the ${fmt(options.largeSpace)}-file space, by a server with a namespace quota (NAMESPACE_QUOTA_BYTES)`,
        result: `${fmt(median(largeQ.times) * 1000)} ms (median of ${largeQ.times.length}: ${each(largeQ.times)} ms)`,
        rawLimit: `${fmt(median(smallQ.times) * 1000)} ms (${each(smallQ.times)} ms): a 1,000-file space alone in its namespace, same server`,
        note: `${fmt(median(largeQ.times) / median(smallQ.times), 1)}× the 1,000-file commit; the namespace of the large space holds ${fmt(Number(inNamespace?.n ?? 0))} entries (files and file_history) in all its spaces; a second server process on the same database`,
      });
    } finally {
      await quota.close();
    }
  } catch (error) {
    process.exitCode = 1;
    log(`${tag} failed: ${(error as Error).stack ?? String(error)}\n${services?.logs().slice(-3000) ?? ''}`);
    rows.push({
      measure: `${tag}: versioned spaces`,
      result: 'failed',
      rawLimit: '-',
      note: `\`${(error as Error).message.replace(/\s+/g, ' ').replace(/\|/g, '\\|').slice(0, 400)}\``,
    });
  } finally {
    await db?.close();
    await services?.close();
    await scratch?.drop();
    await removeTemp(work);
  }
  return { engine, rows };
}

/** The rows of versioned spaces: SQLite, and PostgreSQL when a server is named. */
export async function runVersionsBench(options: VersionBenchOptions = {}): Promise<BenchRow[]> {
  const sizes = { draftEntries: options.draftEntries ?? 100_000, largeSpace: options.largeSpace ?? 1_000_000 };
  const engines: Engine[] = ['sqlite'];
  if (process.env.DREAMLAKE_BENCH_PG_URL || process.env.DREAMLAKE_TEST_PG_URL) engines.push('postgres');
  const rows: BenchRow[] = [];
  for (const engine of engines) {
    log(`  versioned spaces on ${engine}…`);
    rows.push(...(await runOnEngine(engine, sizes)).rows);
  }
  return rows;
}

/**
 * A commit checked out in a git worktree at `dir`, installed and built once (kept for later runs):
 * the bench compares builds of commits, never this working tree, whose files other work may be
 * changing (and a CLI source newer than its build makes the bin run the sources through tsx).
 */
function builtWorktree(commit: string, dir: string): string {
  if (!existsSync(join(dir, 'packages/cli/dist'))) {
    log(`  building ${commit} in ${dir} (once; kept for later runs)…`);
    if (!existsSync(join(dir, '.git')))
      execFileSync('git', ['worktree', 'add', '--detach', dir, commit], { cwd: ROOT, stdio: 'inherit' });
    execFileSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
    execFileSync('npm', ['run', 'build'], { cwd: dir, stdio: 'inherit' });
  }
  return dir;
}

/** One `files` section: the first upload's files/s, the 4-fsync floor of the same run, how busy the cores were. */
interface FilesRun {
  filesPerSecond: number;
  floor: number;
  busy: string;
}

/** The `files` section of one checkout's bench (`scripts/bench.ts --only files`), in a process of its own. */
async function filesSection(dir: string): Promise<FilesRun> {
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', '--only', 'files'], {
      cwd: dir,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    process.stderr.write(c);
  });
  await once(child, 'close');
  const row = out.split('\n').find((line) => line.includes('(first upload)')) ?? '';
  const rate = /\(first upload\) \| ([\d,]+) files\/s/.exec(row);
  const floor = /([\d,]+) files\/s raw, 4 fsyncs/.exec(row);
  if (!rate) throw new Error(`no first-upload row in the bench of ${dir}: ${out.slice(-600)}`);
  const num = (text: string | undefined) => Number((text ?? '0').replace(/,/g, ''));
  const busy = /cores (\d+)% busy before it/.exec(err)?.[1] ?? '?';
  return { filesPerSecond: num(rate[1]), floor: num(floor?.[1]), busy: `${busy}%` };
}

/**
 * The first upload of 1,000 × 20 KiB on this checkout and on the code before versioning, one
 * after the other, `rounds` times: the medians of each, and of each run's share of the floor it
 * measured itself (the floors move with the machine from run to run).
 */
export async function runBaselineBench(options: { rounds?: number } = {}): Promise<BenchRow[]> {
  // The newest commit that changed the code measured (a commit of the bench alone needs no new
  // build), or the one DREAMLAKE_BENCH_HEAD names.
  const paths = ['packages', 'support', 'package.json', 'package-lock.json'];
  const head =
    process.env.DREAMLAKE_BENCH_HEAD ||
    execFileSync('git', ['log', '-1', '--format=%h', '--', ...paths], { cwd: ROOT })
      .toString()
      .trim();
  const before = builtWorktree(BASELINE_COMMIT, BASELINE_DIR);
  const current = builtWorktree(head, `/tmp/dl-head-${head}`);
  const ours: FilesRun[] = [];
  const theirs: FilesRun[] = [];
  for (let r = 0; r < (options.rounds ?? 3); r += 1) {
    log(`  1,000 × 20 KiB at ${BASELINE_COMMIT} (${r + 1})…`);
    theirs.push(await filesSection(before));
    log(`  1,000 × 20 KiB at ${head} (${r + 1})…`);
    ours.push(await filesSection(current));
  }
  const rate = (runs: FilesRun[]) => median(runs.map((run) => run.filesPerSecond));
  const share = (runs: FilesRun[]) => median(runs.map((run) => run.filesPerSecond / run.floor));
  const runs = (list: FilesRun[]) =>
    list.map((run) => `${fmt(run.filesPerSecond)} (floor ${fmt(run.floor)}, cores ${run.busy} busy)`).join(', ');
  return [
    {
      measure: `dreamlake upload of 1,000 × 20 KiB (first upload), ${head} against ${BASELINE_COMMIT} (before versioning)`,
      result: `${fmt(rate(ours))} files/s, ${fmt(share(ours) * 100)}% of its run's 4-fsync floor (runs: ${runs(ours)})`,
      rawLimit: `${fmt(rate(theirs))} files/s, ${fmt(share(theirs) * 100)}% of its run's floor, at ${BASELINE_COMMIT} (runs: ${runs(theirs)})`,
      note: `${fmt(rate(ours) / rate(theirs), 2)}× the files/s of the code before versioning, ${fmt(share(ours) / share(theirs), 2)}× its share of the floor (target ≥ 0.90); medians of ${ours.length} runs each, alternated; each run is one \`npm run bench -- --only files\` (the median of its 3 first uploads) in a built worktree of that commit`,
    },
  ];
}

async function main(): Promise<void> {
  cleanUpOnSignal();
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const rows = args.includes('--baseline')
    ? await runBaselineBench()
    : await runVersionsBench(quick ? { draftEntries: 10_000, largeSpace: 100_000 } : {});
  const lines = ['| measure | result | raw limit (same run) | note |', '|---|---|---|---|'];
  for (const row of rows) lines.push(`| ${row.measure} | ${row.result} | ${row.rawLimit} | ${row.note ?? ''} |`);
  console.log(lines.join('\n'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}

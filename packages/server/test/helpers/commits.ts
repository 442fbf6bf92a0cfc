import assert from 'node:assert/strict';
import { signReceipt } from '@dreamlake/presign';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { type Harness, PRESIGN_SECRET, sha256 } from './harness.ts';

/** Requests of the commit routes against one harness, for one user and space. */
export function committer(h: Harness, ns: string, token: string, space = 'robotics') {
  const base = `/namespaces/${ns}/spaces/${space}`;
  const receipt = (hash: string, size: number) =>
    signReceipt(
      [PRESIGN_SECRET],
      { owner: ns, project: space, hash, size, contentType: 'application/octet-stream' },
      Math.floor(h.clock.now / 1000),
      600,
    );
  return {
    base,
    receipt,
    /** A put whose blob a receipt proves. */
    put: (name: string, hash: string, size = 10) => ({ name, hash, type: 'files', receipt: receipt(hash, size) }),
    commit: (body: object) => h.call('POST', `${base}/commits`, token, body),
    openDraft: async (body: object = {}) => {
      const res = await h.call('POST', `${base}/drafts`, token, body);
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id as string;
    },
    add: (id: string, body: object) => h.call('POST', `${base}/drafts/${id}/entries`, token, body),
    commitDraft: (id: string, body: object = {}) => h.call('POST', `${base}/drafts/${id}/commit`, token, body),
    dropDraft: (id: string) => h.call('DELETE', `${base}/drafts/${id}`, token),
    /** Every name of head, from one page. */
    names: async () => {
      const res = await h.call('GET', `${base}/files?limit=10000`, token);
      assert.equal(res.statusCode, 200, res.body);
      return res.json().files.map((f: { name: string }) => f.name) as string[];
    },
    /** The space's head version (0 when it has none or does not exist). */
    head: async () =>
      Number(
        (
          await h.db
            .selectFrom('spaces')
            .innerJoin('namespaces', 'namespaces.id', 'spaces.namespace_id')
            .select('spaces.head_version')
            .where('namespaces.name', '=', ns)
            .where('spaces.name', '=', space)
            .executeTakeFirst()
        )?.head_version ?? 0,
      ),
  };
}

/** A hash no other test makes. */
export const uniqueHash = (text: string) => sha256(`${text}-${Math.random()}`);

/** Whether another connection to this SQLite file holds a write transaction open at this moment (`begin immediate` is busy). */
export function sqliteWriting(path: string): boolean {
  const probe = new SqliteDatabase(path);
  try {
    probe.pragma('busy_timeout = 0');
    probe.exec('begin immediate');
    probe.exec('rollback');
    return false;
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) return true;
    throw error;
  } finally {
    probe.close();
  }
}

/** Whether a transaction holding the namespace's row lock is open at this moment on PostgreSQL (`for update nowait` fails). */
export async function postgresLocked(h: Harness, ns: string): Promise<boolean> {
  try {
    await h.db.transaction().execute(async (trx) => {
      await sql`select id from namespaces where name = ${ns} for update nowait`.execute(trx);
    });
    return false;
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') return true;
    throw error;
  }
}

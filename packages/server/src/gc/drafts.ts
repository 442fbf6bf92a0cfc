import { type DraftRow, deleteDraft, draftHashes, expiredDrafts, findDraft } from '../db/drafts.ts';
import { trackUsage } from '../db/namespace-usage.ts';
import { lockNamespace } from '../db/namespaces.ts';
import type { DB } from '../db/open.ts';
import { addCandidates } from './candidates.ts';

const PAGE = 100;

/**
 * Removes the drafts that expired at `now` (abandoned commits), each under its namespace's lock
 * (a batch added meanwhile moved its expiry on: that draft stays); the blobs they named become
 * candidates for the collection, which deletes those nothing else keeps. Answers how many went.
 */
export async function removeExpiredDrafts(db: DB, now: string): Promise<number> {
  let removed = 0;
  const seen = new Set<string>();
  for (;;) {
    const page = (await expiredDrafts(db, now, PAGE)).filter((d) => !seen.has(d.id));
    if (page.length === 0) return removed;
    for (const draft of page) {
      seen.add(draft.id);
      const gone = await db.transaction().execute(async (trx) => {
        await lockNamespace(trx, draft.namespaceId);
        const current: DraftRow | undefined = await findDraft(trx, draft.id);
        if (!current || current.expires_at > now) return false;
        const hashes = await draftHashes(trx, draft.id);
        await trackUsage(trx, { namespaceId: draft.namespaceId, space: draft.space }, hashes, () =>
          deleteDraft(trx, draft.id),
        );
        await addCandidates(trx, { namespace: draft.namespace, space: draft.space }, hashes, now);
        return true;
      });
      if (gone) removed += 1;
    }
  }
}

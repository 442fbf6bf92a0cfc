/**
 * Values of one `in (…)` list: well under the bound parameters one statement may carry on both
 * engines (SQLite 32,766 since 3.32, PostgreSQL 65,535), so a batch of 1000 is one query.
 */
export const IN_LIST_CHUNK = 5_000;

/** Consecutive slices of at most `size` items. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Bound parameters one statement may carry on both engines: SQLite allows 32,766 since 3.32,
 * PostgreSQL 65,535. Lists and multi-row inserts are cut to stay under it.
 */
const MAX_PARAMETERS = 30_000;

/** Values of one `in (…)` list. */
export const IN_LIST_CHUNK = 5_000;

/** Consecutive slices of at most `size` items. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Rows of `columns` values each that fit in one statement. */
export function rowsPerStatement(columns: number): number {
  return Math.max(1, Math.floor(MAX_PARAMETERS / columns));
}

import type { Compilable, CompiledQuery } from 'kysely';
import type { DB } from './open.ts';

interface Plan {
  compiled: CompiledQuery;
  /** Per bound parameter: the argument it takes, or a constant of the query. */
  slots: Array<number | { constant: unknown }>;
}

const mark = (i: number) => `\u0000argument ${i}\u0000`;

/** Where each of `arity` placeholder arguments went among the compiled query's parameters. */
function planOf(compiled: CompiledQuery, arity: number): Plan {
  const index = new Map(Array.from({ length: arity }, (_, i) => [mark(i), i]));
  const slots = compiled.parameters.map((value) => index.get(value as string) ?? { constant: value });
  const used = new Set(slots.filter((s) => typeof s === 'number'));
  if (used.size !== arity) throw new Error('prepared query: every argument must be a bound parameter of the query');
  return { compiled, slots };
}

async function run<R>(db: DB, plan: Plan, args: readonly unknown[]): Promise<R[]> {
  const parameters = plan.slots.map((slot) => (typeof slot === 'number' ? args[slot] : slot.constant));
  const result = await db.executeQuery<R>({ ...plan.compiled, parameters } as CompiledQuery<R>);
  return result.rows;
}

/**
 * Plans are kept per dialect (its adapter), which a database shares with its transactions: the
 * SQL Kysely compiles depends on the dialect alone.
 */
function plansFor<K, P>(cache: WeakMap<object, Map<K, P>>, db: DB): Map<K, P> {
  const adapter = db.getExecutor().adapter;
  let plans = cache.get(adapter);
  if (!plans) {
    plans = new Map();
    cache.set(adapter, plans);
  }
  return plans;
}

/**
 * A query Kysely builds and compiles once per dialect, then runs with new argument values: on a
 * hot path, building and compiling a small query costs more than SQLite takes to run it. `build`
 * gets one placeholder string per argument and must use each one as a bound value, unchanged.
 */
export function preparedQuery<A extends string[], R>(arity: A['length'], build: (db: DB, ...args: A) => Compilable<R>) {
  const cache = new WeakMap<object, Map<0, Plan>>();
  return function query(db: DB, ...args: A): Promise<R[]> {
    const plans = plansFor(cache, db);
    let plan = plans.get(0);
    if (!plan) {
      const marks = Array.from({ length: arity }, (_, i) => mark(i)) as A;
      plan = planOf(build(db, ...marks).compile(), arity);
      plans.set(0, plan);
    }
    return run<R>(db, plan, args);
  };
}

/** Rows per prepared multi-row statement; more rows go in several statements. */
export const PREPARED_ROWS = 64;

/**
 * A multi-row insert compiled once per row count (1..PREPARED_ROWS): Kysely otherwise turns every
 * value of every row into query nodes on each call, which for a few dozen rows costs
 * milliseconds. `build` gets rows of placeholders and must bind each value unchanged.
 */
export function preparedRows<Row extends object>(
  columns: ReadonlyArray<keyof Row & string>,
  build: (db: DB, rows: Row[]) => Compilable<unknown>,
) {
  const cache = new WeakMap<object, Map<number, Plan>>();
  /** Inserts at most PREPARED_ROWS rows in one statement. */
  return async function insert(db: DB, rows: readonly Row[]): Promise<void> {
    if (rows.length === 0) return;
    if (rows.length > PREPARED_ROWS) throw new RangeError(`at most ${PREPARED_ROWS} rows per prepared statement`);
    const plans = plansFor(cache, db);
    let plan = plans.get(rows.length);
    if (!plan) {
      const marked = rows.map(
        (_, r) => Object.fromEntries(columns.map((column, c) => [column, mark(r * columns.length + c)])) as Row,
      );
      plan = planOf(build(db, marked).compile(), rows.length * columns.length);
      plans.set(rows.length, plan);
    }
    await run(
      db,
      plan,
      rows.flatMap((row) => columns.map((column) => row[column])),
    );
  };
}

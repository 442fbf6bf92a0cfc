import type { Compilable, CompiledQuery } from 'kysely';
import type { DB } from './open.ts';

interface Plan {
  compiled: CompiledQuery;
  /** Per bound parameter: the argument it takes, or a constant of the query. */
  slots: Array<number | { constant: unknown }>;
}

/**
 * A query Kysely builds and compiles once per database, then runs with new argument values: on a
 * hot path, building and compiling a small query costs more than SQLite takes to run it. `build`
 * gets one placeholder string per argument and must use each one as a bound value, unchanged.
 */
export function preparedQuery<A extends string[], R>(arity: A['length'], build: (db: DB, ...args: A) => Compilable<R>) {
  const plans = new WeakMap<DB, Plan>();
  const marks = Array.from({ length: arity }, (_, i) => `\u0000argument ${i}\u0000`);

  function plan(db: DB): Plan {
    let found = plans.get(db);
    if (found) return found;
    const compiled = build(db, ...(marks as A)).compile();
    const slots = compiled.parameters.map((value) => {
      const index = marks.indexOf(value as string);
      return index === -1 ? { constant: value } : index;
    });
    for (let i = 0; i < arity; i++) {
      if (!slots.includes(i)) throw new Error(`preparedQuery: argument ${i} is not a bound parameter of the query`);
    }
    found = { compiled, slots };
    plans.set(db, found);
    return found;
  }

  return async function run(db: DB, ...args: A): Promise<R[]> {
    const { compiled, slots } = plan(db);
    const parameters = slots.map((slot) => (typeof slot === 'number' ? args[slot] : slot.constant));
    const result = await db.executeQuery<R>({ ...compiled, parameters } as CompiledQuery<R>);
    return result.rows;
  };
}

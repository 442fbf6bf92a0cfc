import { DreamLakeError } from '@dreamlake/presign';
import type { DatabaseConnection, Dialect, Driver, QueryResult } from 'kysely';

/** Seconds a client is asked to wait (`Retry-After`) when the database is unavailable. */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

/** Socket errors of a connection that is refused, lost or cannot be made. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * PostgreSQL SQLSTATEs of a server that is not serving: class 08 (connection exception),
 * admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down),
 * too_many_connections.
 */
const POSTGRES_STATES = /^(08...|57P01|57P02|57P03|53300)$/;

/** What node-postgres says when a connection dies or cannot be had in time. */
const POSTGRES_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed)/;

/**
 * Why the database cannot serve now, when `error` says so: PostgreSQL down, restarting or out of
 * connections, or a SQLite file locked by another process past its busy timeout. Undefined for
 * every other error (a constraint, a bad query), which stays what it is.
 */
export function unavailableReason(error: unknown): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'the database is locked (busy)';
    if (NETWORK_CODES.has(code) || POSTGRES_STATES.test(code)) return 'the database is unreachable';
  }
  if (typeof message === 'string' && POSTGRES_MESSAGES.test(message)) return 'the database is unreachable';
  return undefined;
}

/**
 * The database cannot serve now; try again. Answered 503 `unavailable` with `Retry-After` (the
 * shared error handler sends the headers an error carries).
 */
export class DatabaseUnavailableError extends DreamLakeError {
  readonly headers = { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) };

  constructor(reason: string, cause: unknown) {
    super('unavailable', `${reason}; try again`, undefined, { cause });
  }
}

/** `error` as DatabaseUnavailableError when the database is not serving; as it is otherwise. */
export function translated(error: unknown): unknown {
  if (error instanceof DatabaseUnavailableError) return error;
  const reason = unavailableReason(error);
  return reason === undefined ? error : new DatabaseUnavailableError(reason, error);
}

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translated(error);
  }
}

/** A connection whose failures come out translated; the driver is handed back the original. */
class GuardedConnection implements DatabaseConnection {
  constructor(readonly inner: DatabaseConnection) {}

  executeQuery<R>(...args: Parameters<DatabaseConnection['executeQuery']>): Promise<QueryResult<R>> {
    return guarded(() => this.inner.executeQuery<R>(...args));
  }

  async *streamQuery<R>(...args: Parameters<DatabaseConnection['streamQuery']>): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(...args);
    } catch (error) {
      throw translated(error);
    }
  }
}

const innerOf = (connection: DatabaseConnection) => (connection as GuardedConnection).inner;

/** The one place a database's connection failures become `unavailable`, for every query and transaction. */
class GuardedDriver implements Driver {
  constructor(private readonly inner: Driver) {}

  init() {
    return guarded(() => this.inner.init());
  }
  async acquireConnection() {
    return new GuardedConnection(await guarded(() => this.inner.acquireConnection()));
  }
  beginTransaction(...[connection, settings]: Parameters<Driver['beginTransaction']>) {
    return guarded(() => this.inner.beginTransaction(innerOf(connection), settings));
  }
  commitTransaction(connection: DatabaseConnection) {
    return guarded(() => this.inner.commitTransaction(innerOf(connection)));
  }
  rollbackTransaction(connection: DatabaseConnection) {
    return guarded(() => this.inner.rollbackTransaction(innerOf(connection)));
  }
  savepoint(...[connection, name, compile]: Parameters<NonNullable<Driver['savepoint']>>) {
    return guarded(async () => this.inner.savepoint?.(innerOf(connection), name, compile));
  }
  rollbackToSavepoint(...[connection, name, compile]: Parameters<NonNullable<Driver['rollbackToSavepoint']>>) {
    return guarded(async () => this.inner.rollbackToSavepoint?.(innerOf(connection), name, compile));
  }
  releaseSavepoint(...[connection, name, compile]: Parameters<NonNullable<Driver['releaseSavepoint']>>) {
    return guarded(async () => this.inner.releaseSavepoint?.(innerOf(connection), name, compile));
  }
  releaseConnection(connection: DatabaseConnection) {
    return this.inner.releaseConnection(innerOf(connection));
  }
  destroy() {
    return this.inner.destroy();
  }
}

/** `dialect` with its connection failures answered as 503 `unavailable` (see DatabaseUnavailableError). */
export function withUnavailableErrors(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => new GuardedDriver(dialect.createDriver()),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}

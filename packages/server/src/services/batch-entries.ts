import { DreamLakeError } from '@dreamlake/presign';
import type { ErrorAnswer } from '@dreamlake/protocol';
import { errorBody, parseOrThrow } from '@dreamlake/service';
import { z } from 'zod';

/** An entry of a batch answer that could not be served: the protocol's `ErrorAnswer`, with its index and the error's details. */
export interface EntryError extends ErrorAnswer {
  index: number;
  error: ErrorAnswer['error'] & { [detail: string]: unknown };
}

export function entryError(index: number, error: DreamLakeError): EntryError {
  return { index, error: errorBody(error).error };
}

/**
 * The envelope of a batch body with its `files` array of at most `maxFiles` entries (413
 * `too_large` naming `maxFiles` beyond). Entries are left unparsed, for per-entry answers.
 */
export function parseBatch<S extends z.ZodRawShape>(shape: S, body: unknown, maxFiles: number) {
  const envelope = z.strictObject({ ...shape, files: z.array(z.unknown()).min(1) });
  const files = (body as { files?: unknown } | null)?.files;
  if (Array.isArray(files) && files.length > maxFiles) {
    throw new DreamLakeError('too_large', `a batch may hold at most ${maxFiles} files`, { maxFiles });
  }
  return parseOrThrow(envelope, body);
}

/** One entry parsed by `schema`, or its `invalid_request` error. */
export function parseEntry<T extends z.ZodType>(
  schema: T,
  value: unknown,
  index: number,
): { ok: true; value: z.infer<T> } | { ok: false; error: EntryError } {
  try {
    return { ok: true, value: parseOrThrow(schema, value, `files.${index}`) };
  } catch (error) {
    return { ok: false, error: entryError(index, error as DreamLakeError) };
  }
}

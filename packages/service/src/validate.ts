import { DreamLakeError } from '@dreamlake/protocol';
import type { z } from 'zod';

/** Parses a value with a zod schema or throws `invalid_request` naming each bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, where = 'body'): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    field: issue.path.join('.') || where,
    message: issue.message,
  }));
  const first = issues[0];
  throw new DreamLakeError(
    'invalid_request',
    first ? `invalid ${where}: ${first.field}: ${first.message}` : `invalid ${where}`,
    {
      issues,
    },
  );
}

import { FLAG_PROBLEM, parseFlag, parseList } from '@dreamlake/protocol';
import { z } from 'zod';

/**
 * A service's configuration refused: `problems` names every bad or missing variable (never a
 * secret's value), one sentence each.
 */
export class ConfigError extends Error {
  constructor(
    /** Whose configuration: `server`, `BSS`. */
    readonly service: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid ${service} configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** On/off settings, read the same way by every service (the protocol's words, any case). */
export const flag = z.string().transform((value, ctx) => {
  const on = parseFlag(value);
  if (on === null || on === undefined) {
    ctx.addIssue({ code: 'custom', message: FLAG_PROBLEM });
    return z.NEVER;
  }
  return on;
});

/** A comma-separated list: items trimmed, empty items dropped. */
export const list = z.string().transform((value) => parseList(value));

/** A whole number within bounds, from its decimal text. */
export const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** An http(s) URL, without its trailing slashes. */
export const httpUrl = z.url({ protocol: /^https?$/ }).transform((value) => value.replace(/\/+$/, ''));

/**
 * The environment without its empty variables: `DATABASE_URL=` (as shells, env files and
 * templates with a blank line produce it) counts as not set, so the default applies.
 */
export function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value.trim() !== '') out[key] = value;
  return out;
}

/**
 * Reads `env` (empty values as unset) with the service's schema. Throws ConfigError naming every
 * variable that breaks its own rule; the service then checks what spans several variables (and
 * its secrets) and throws one ConfigError naming every problem of that pass.
 */
export function readEnv<T extends z.ZodType>(service: string, schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = schema.safeParse(withoutEmpty(env));
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    service,
    parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
  );
}

import { DreamLakeError } from '@dreamlake/presign';

/** What an access token may do. A JWT from a login holds every scope. */
export const SCOPES = ['read', 'write', 'admin', 'share'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * The scope each authenticated route needs. Not listed: GET and HEAD need `read`, every other
 * method `write` (uploads, registering files, creating spaces).
 */
const SCOPE_BY_ROUTE: Readonly<Record<string, Scope>> = {
  'POST /namespaces/:ns/spaces/:space/files/lookup': 'read',
  'POST /downloads/batch': 'read',
  'POST /auth/logout': 'read',
  'POST /auth/tokens': 'admin',
  'GET /auth/tokens': 'admin',
  'DELETE /auth/tokens/:id': 'admin',
  'POST /auth/password': 'admin',
  'POST /orgs': 'admin',
  'POST /shares': 'share',
  'DELETE /shares/:id': 'share',
  'PUT /orgs/:org/members/:username': 'admin',
  'DELETE /orgs/:org/members/:username': 'admin',
};

export function requiredScope(method: string, routeUrl: string | undefined): Scope {
  const listed = SCOPE_BY_ROUTE[`${method} ${routeUrl ?? ''}`];
  if (listed) return listed;
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** 403 unless `held` includes `needed`. */
export function requireScope(held: readonly Scope[], needed: Scope): void {
  if (!held.includes(needed)) throw new DreamLakeError('forbidden', `this token lacks the "${needed}" scope`);
}

/** Scopes as stored: space-separated, in the order of SCOPES. */
export const formatScopes = (scopes: readonly Scope[]): string => SCOPES.filter((s) => scopes.includes(s)).join(' ');
export const parseScopes = (stored: string): Scope[] => SCOPES.filter((s) => stored.split(' ').includes(s));

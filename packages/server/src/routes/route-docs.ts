import type { RouteDoc } from '@dreamlake/service';

/**
 * The kinds of route the server has, for the doc each route is registered with
 * (`{ config: { doc: signedIn({ … }) } }`, read by `describeRoutes` into `/openapi.json`).
 */

type DocOf<Omitted extends keyof RouteDoc> = Omit<RouteDoc, Omitted> & { errors?: RouteDoc['errors'] };

/** A route for a signed-in caller (a session or an access token): the refusals every such route may answer, and its own. */
export const signedIn = (doc: DocOf<'auth' | 'errors'>): RouteDoc => ({
  ...doc,
  auth: 'bearer',
  errors: ['invalid_request', 'unauthorized', 'forbidden', 'rate_limited', ...(doc.errors ?? [])],
});

/** A route anyone may call. */
export const open = (doc: DocOf<'auth'>): RouteDoc => ({ ...doc, auth: 'none' });

/** A file of the web page: `page('The web uploader')`. */
export const page = (summary: string, mediaType = 'text/html'): RouteDoc =>
  open({ summary, tags: ['web'], responses: { 200: { mediaType, description: summary } }, errors: ['not_found'] });

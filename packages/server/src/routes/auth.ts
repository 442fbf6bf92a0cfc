import type { Me } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { namespacesOf } from '../db/namespaces.ts';
import { NO_NUL, nameSchema } from '../names.ts';
import { changeOwnPassword, login, logout, signup } from '../services/accounts.ts';
import { me, session } from './answers.ts';
import { open, signedIn } from './route-docs.ts';

export const passwordSchema = z.string().min(8, 'must be at least 8 characters').max(1024);
export const signupBody = z.object({ username: nameSchema, password: passwordSchema });
export const passwordBody = z.object({
  currentPassword: z.string().min(1).max(1024),
  newPassword: passwordSchema,
  keepTokens: z.boolean().default(false),
});
/** Login takes any strings: a malformed name is answered like an unknown one. */
export const loginBody = z.object({
  username: z.string().min(1).max(256).regex(NO_NUL, 'must not contain a NUL character'),
  password: z.string().min(1).max(1024),
});

export function authRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const signupDoc = open({
    summary: 'Create an account and a session (when sign-up is allowed)',
    tags: ['auth'],
    body: signupBody,
    responses: { 201: session.pick({ token: true }) },
    errors: ['invalid_request', 'forbidden', 'conflict', 'rate_limited'],
  });
  app.post('/auth/signup', { config: { doc: signupDoc } }, async (request, reply) => {
    const { username, password } = parseOrThrow(signupBody, request.body);
    const { token } = await signup(ctx, username, password, request.ip);
    return reply.code(201).send({ token });
  });

  const loginDoc = open({
    summary: 'Exchange a name and password for a session JWT',
    tags: ['auth'],
    body: loginBody,
    responses: { 200: session },
    errors: ['invalid_request', 'unauthorized', 'rate_limited'],
  });
  app.post('/auth/login', { config: { doc: loginDoc } }, async (request) => {
    const { username, password } = parseOrThrow(loginBody, request.body);
    return login(ctx, username, password, request.ip);
  });

  const passwordDoc = signedIn({
    summary: 'Change your own password (ends other sessions unless keepTokens)',
    tags: ['auth'],
    body: passwordBody,
    responses: { 200: session },
  });
  app.post('/auth/password', { onRequest: ctx.authenticate, config: { doc: passwordDoc } }, async (request) => {
    const body = parseOrThrow(passwordBody, request.body);
    return changeOwnPassword(ctx, caller(request), body, request.ip);
  });

  const logoutDoc = signedIn({
    summary: 'End your login sessions (a JWT: all of them) or revoke the access token you call with',
    tags: ['auth'],
    responses: { 204: 'logged out' },
  });
  app.post('/auth/logout', { onRequest: ctx.authenticate, config: { doc: logoutDoc } }, async (request, reply) => {
    await logout(ctx, caller(request));
    return reply.code(204).send();
  });

  const meDoc = signedIn({ summary: 'Who you are and your namespaces', tags: ['auth'], responses: { 200: me } });
  app.get('/auth/me', { onRequest: ctx.authenticate, config: { doc: meDoc } }, async (request) => {
    const user = caller(request);
    return { username: user.username, namespaces: await namespacesOf(ctx.db, user.id) } satisfies Me;
  });
}

import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { namespacesOf } from '../db/namespaces.ts';
import { NO_NUL, nameSchema } from '../names.ts';
import { changeOwnPassword, login, logout, signup } from '../services/accounts.ts';

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
  app.post('/auth/signup', async (request, reply) => {
    const { username, password } = parseOrThrow(signupBody, request.body);
    const { token } = await signup(ctx, username, password, request.ip);
    return reply.code(201).send({ token });
  });

  app.post('/auth/login', async (request) => {
    const { username, password } = parseOrThrow(loginBody, request.body);
    return login(ctx, username, password, request.ip);
  });

  app.post('/auth/password', { onRequest: ctx.authenticate }, async (request) => {
    const body = parseOrThrow(passwordBody, request.body);
    return changeOwnPassword(ctx, caller(request), body, request.ip);
  });

  app.post('/auth/logout', { onRequest: ctx.authenticate }, async (request, reply) => {
    await logout(ctx, caller(request));
    return reply.code(204).send();
  });

  app.get('/auth/me', { onRequest: ctx.authenticate }, async (request) => {
    const user = caller(request);
    return { username: user.username, namespaces: await namespacesOf(ctx.db, user.id) };
  });
}

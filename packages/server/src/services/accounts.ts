import { ForbiddenError, UnauthorizedError } from '@dreamlake/presign';
import { nowIso, type ServerContext } from '../context.ts';
import { createUser, findUserByName, setPasswordHash, type User } from '../db/users.ts';

const BAD_LOGIN = 'invalid username or password';

export async function addUser(ctx: Pick<ServerContext, 'db' | 'passwords' | 'clock'>, username: string, password: string): Promise<User> {
  const passwordHash = await ctx.passwords.hash(password);
  return createUser(ctx.db, { username, passwordHash, now: nowIso(ctx) });
}

export async function changePassword(ctx: Pick<ServerContext, 'db' | 'passwords'>, username: string, password: string): Promise<boolean> {
  const user = await findUserByName(ctx.db, username);
  if (!user) return false;
  await setPasswordHash(ctx.db, user.id, await ctx.passwords.hash(password));
  return true;
}

export async function signup(ctx: ServerContext, username: string, password: string): Promise<{ token: string; expiresAt: string }> {
  if (!ctx.config.allowSignup) throw new ForbiddenError('sign-up is disabled on this server; ask an administrator for an account');
  const user = await addUser(ctx, username, password);
  return ctx.jwt.issue(user.id, user.username, ctx.clock());
}

/**
 * Checks a password and answers a JWT. An unknown user costs the same work and gets the same
 * answer as a wrong password; failures count towards the throttle, which answers 429 first.
 */
export async function login(ctx: ServerContext, username: string, password: string, ip: string): Promise<{ token: string; expiresAt: string }> {
  await ctx.throttle.check(username, ip, ctx.clock());
  const user = await findUserByName(ctx.db, username);
  const ok = await ctx.passwords.verifyOrWaste(password, user?.passwordHash);
  if (!user || !ok) {
    await ctx.throttle.failed(username, ip, ctx.clock());
    throw new UnauthorizedError(BAD_LOGIN);
  }
  await ctx.throttle.succeeded(username, ip);
  return ctx.jwt.issue(user.id, user.username, ctx.clock());
}

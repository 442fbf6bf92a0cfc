import { DreamLakeError } from '@dreamlake/presign';
import type { AuthUser } from '../auth/authenticate.ts';
import { nowIso, type ServerContext } from '../context.ts';
import { revokeAccessToken, revokeSessionTokens } from '../db/access-tokens.ts';
import { createUser, endSessions, findUserById, findUserByName, setPasswordHash, type User } from '../db/users.ts';

const BAD_LOGIN = 'invalid username or password';

export async function addUser(
  ctx: Pick<ServerContext, 'db' | 'passwords' | 'clock'>,
  username: string,
  password: string,
  /** The address of the request that asked, if one did (its place in the hashing queue). */
  ip?: string,
): Promise<User> {
  const passwordHash = await ctx.passwords.hash(password, ip);
  return createUser(ctx.db, { username, passwordHash, now: nowIso(ctx) });
}

/** The admin command's password reset: every JWT and access token of the user stops working. */
export async function changePassword(
  ctx: Pick<ServerContext, 'db' | 'passwords' | 'clock'>,
  username: string,
  password: string,
): Promise<boolean> {
  const user = await findUserByName(ctx.db, username);
  if (!user) return false;
  await setPasswordHash(ctx.db, user.id, await ctx.passwords.hash(password), { keepTokens: false, now: nowIso(ctx) });
  return true;
}

/**
 * The signed-in caller proves their password again (to change it, or to mint a long-lived access
 * token). Counted by the login throttle like a login, so a stolen token cannot be used to guess
 * it; a wrong password is 403.
 */
export async function confirmPassword(ctx: ServerContext, caller: AuthUser, password: string, ip: string) {
  const attempt = await ctx.throttle.admit(caller.username, ip, ctx.clock());
  let ok: boolean;
  try {
    const user = await findUserById(ctx.db, caller.id);
    ok = await ctx.passwords.verifyOrWaste(password, user?.passwordHash, ip);
  } catch (error) {
    await ctx.throttle.abandon(attempt);
    throw error;
  }
  if (!ok) {
    await ctx.throttle.failed(attempt, ctx.clock());
    throw new DreamLakeError('forbidden', 'the current password is wrong');
  }
  await ctx.throttle.succeeded(attempt, ctx.clock());
}

/**
 * A user changes their own password, proving the current one. Their JWTs stop working on every
 * server process, with the access tokens those sessions minted without the password; unless
 * `keepTokens`, all their access tokens are revoked. Answers a fresh JWT.
 */
export async function changeOwnPassword(
  ctx: ServerContext,
  caller: AuthUser,
  input: { currentPassword: string; newPassword: string; keepTokens: boolean },
  ip: string,
): Promise<{ token: string; expiresAt: string }> {
  await confirmPassword(ctx, caller, input.currentPassword, ip);
  const passwordHash = await ctx.passwords.hash(input.newPassword, ip);
  const epoch = await setPasswordHash(ctx.db, caller.id, passwordHash, {
    keepTokens: input.keepTokens,
    now: nowIso(ctx),
  });
  await revokeSessionTokens(ctx.db, caller.id, epoch, nowIso(ctx));
  return ctx.jwt.issue(caller.id, caller.username, epoch, ctx.clock());
}

/**
 * `POST /auth/logout`: with a JWT, every login session of the user ends (the token epoch moves
 * on), on every server process, with the access tokens those sessions minted without the
 * password; other access tokens keep working. With an access token, that token is revoked, with
 * every token it minted.
 */
export async function logout(ctx: ServerContext, caller: AuthUser): Promise<void> {
  if (caller.credential.kind === 'token') {
    await revokeAccessToken(ctx.db, caller.id, caller.credential.tokenId, nowIso(ctx));
    return;
  }
  await ctx.db.transaction().execute(async (trx) => {
    const epoch = await endSessions(trx, caller.id);
    await revokeSessionTokens(trx, caller.id, epoch, nowIso(ctx));
  });
}

/** Sign-up, when the configuration allows it; counted per client (an IPv6 /64 is one) before the password is hashed. */
export async function signup(
  ctx: ServerContext,
  username: string,
  password: string,
  ip: string,
): Promise<{ token: string; expiresAt: string }> {
  if (!ctx.config.allowSignup)
    throw new DreamLakeError('forbidden', 'sign-up is disabled on this server; ask an administrator for an account');
  const uncount = await ctx.throttle.admitSignup(ip, ctx.clock());
  let user: User;
  try {
    user = await addUser(ctx, username, password, ip);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'rate_limited') await uncount();
    throw error;
  }
  return ctx.jwt.issue(user.id, user.username, user.tokenEpoch, ctx.clock());
}

/**
 * Checks a password and answers a JWT. The attempt is counted before the password is hashed (429
 * when over a limit, see auth/throttle.ts). An unknown user costs the same work and gets the same
 * answer as a wrong password.
 */
export async function login(
  ctx: ServerContext,
  username: string,
  password: string,
  ip: string,
): Promise<{ token: string; expiresAt: string }> {
  const attempt = await ctx.throttle.admit(username, ip, ctx.clock());
  let user: User | undefined;
  let ok: boolean;
  try {
    user = await findUserByName(ctx.db, username);
    ok = await ctx.passwords.verifyOrWaste(password, user?.passwordHash, ip);
  } catch (error) {
    await ctx.throttle.abandon(attempt);
    throw error;
  }
  if (!user || !ok) {
    await ctx.throttle.failed(attempt, ctx.clock());
    throw new DreamLakeError('unauthorized', BAD_LOGIN);
  }
  await ctx.throttle.succeeded(attempt, ctx.clock());
  return ctx.jwt.issue(user.id, user.username, user.tokenEpoch, ctx.clock());
}

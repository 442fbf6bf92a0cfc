import { requestJson } from '@dreamlake/protocol/client';
import { DEFAULT_SERVER, homeDir, readSavedConfig, writeSavedConfig } from '../config.ts';
import type { Io } from '../context.ts';
import { cliTransport, createAgent } from '../http.ts';

/** How long logout waits for the server before forgetting the token anyway. */
const LOGOUT_TIMEOUT_MS = 10_000;

/**
 * Ends the session on the server (`POST /auth/logout`), then forgets the saved token (the server
 * and username stay as defaults for the next login). A server that cannot be reached, or refuses,
 * gets a warning and the token is forgotten all the same; one that no longer knows the token
 * (401) has nothing left to end.
 */
export async function logout(io: Io): Promise<void> {
  const home = homeDir(io.env);
  const saved = await readSavedConfig(home);
  if (!saved.token) {
    io.stdout.write('Not logged in\n');
    return;
  }
  const server = saved.server ?? DEFAULT_SERVER;
  const agent = createAgent(1);
  try {
    await requestJson(cliTransport(agent), 'POST', `${server}/auth/logout`, {
      token: saved.token,
      signal: AbortSignal.timeout(LOGOUT_TIMEOUT_MS),
    });
  } catch (error) {
    if ((error as { status?: unknown }).status !== 401) {
      const why = error instanceof Error ? error.message : String(error);
      io.stderr.write(
        `dreamlake: warning: could not end the session on ${server} (${why}); forgetting it here anyway\n`,
      );
    }
  } finally {
    await agent.close();
  }
  const { token: _token, ...rest } = saved;
  await writeSavedConfig(home, rest);
  io.stdout.write(`Logged out of ${server}\n`);
}

import { homeDir, readSavedConfig, writeSavedConfig } from '../config.ts';
import type { Io } from '../context.ts';

/** Forgets the saved token (the server and username stay as defaults for the next login). */
export async function logout(io: Io): Promise<void> {
  const home = homeDir(io.env);
  const saved = await readSavedConfig(home);
  if (!saved.token) {
    io.stdout.write('Not logged in\n');
    return;
  }
  const { token: _token, ...rest } = saved;
  await writeSavedConfig(home, rest);
  io.stdout.write(`Logged out of ${saved.server ?? 'the server'}\n`);
}

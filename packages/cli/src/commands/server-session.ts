import { ServerApi } from '../api.ts';
import { loadSettings, type SettingFlags, type Settings } from '../config.ts';
import type { Io } from '../context.ts';
import { createAgent } from '../http.ts';

/** Runs `work` with the server's API on a pool of its own, closed however it ends. */
export async function withServer<T>(
  io: Io,
  flags: SettingFlags,
  work: (api: ServerApi, settings: Settings) => Promise<T>,
): Promise<T> {
  const settings = await loadSettings(io.env, flags);
  const agent = createAgent(2);
  try {
    return await work(new ServerApi(settings.server, agent, settings.token), settings);
  } finally {
    await agent.close();
  }
}

import { ServerApi } from '../api.ts';
import { loadSettings, type SettingFlags, writeSavedConfig } from '../config.ts';
import type { Io } from '../context.ts';
import { createAgent } from '../http.ts';
import { credentials } from '../prompt.ts';

export interface LoginOptions extends SettingFlags {
  username?: string;
  passwordStdin?: boolean;
}

/** Shared by `login` and `signup`: get a token, keep it (0600) with the server it is for. */
export async function authenticate(io: Io, options: LoginOptions, mode: 'login' | 'signup'): Promise<void> {
  const settings = await loadSettings(io.env, options);
  const creds = await credentials(io, options);
  const agent = createAgent(2);
  try {
    const api = new ServerApi(settings.server, agent, undefined);
    const { token } =
      mode === 'signup'
        ? await api.signup(creds.username, creds.password)
        : await api.login(creds.username, creds.password);
    await writeSavedConfig(settings.home, {
      ...settings.saved,
      server: settings.server,
      token,
      username: creds.username,
      ...(options.bss ? { bss: settings.bss } : {}),
    });
    const verb = mode === 'signup' ? 'Signed up and logged in' : 'Logged in';
    io.stdout.write(`${verb} to ${settings.server} as ${creds.username}\n`);
  } finally {
    await agent.close();
  }
}

export function login(io: Io, options: LoginOptions): Promise<void> {
  return authenticate(io, options, 'login');
}

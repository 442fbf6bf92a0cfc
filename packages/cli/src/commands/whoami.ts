import { ServerApi } from '../api.ts';
import { loadSettings, type SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { createAgent } from '../http.ts';

export async function whoami(io: Io, options: SettingFlags & { json?: boolean }): Promise<void> {
  const settings = await loadSettings(io.env, options);
  const agent = createAgent(1);
  try {
    const me = await new ServerApi(settings.server, agent, settings.token).me();
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ server: settings.server, ...me })}\n`);
      return;
    }
    const namespaces = me.namespaces.map((n) => `${n.name} (${n.role})`).join(', ');
    io.stdout.write(`${me.username} on ${settings.server}\nnamespaces: ${namespaces || 'none'}\n`);
  } finally {
    await agent.close();
  }
}

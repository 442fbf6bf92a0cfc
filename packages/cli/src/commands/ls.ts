import { ServerApi } from '../api.ts';
import { loadSettings, type SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { createAgent } from '../http.ts';
import { formatBytes } from '../progress.ts';
import { parseSpacePath, showRef } from '../target.ts';

/** `dreamlake ls NAMESPACE/SPACE[@N][/PREFIX]`: the files of head (or of snapshot N), or of a folder in it. */
export async function ls(io: Io, spaceText: string, options: SettingFlags & { json?: boolean }): Promise<void> {
  const ref = parseSpacePath(spaceText);
  const settings = await loadSettings(io.env, options);
  const agent = createAgent(1);
  try {
    const { files: listed } = await new ServerApi(settings.server, agent, settings.token).listFiles(
      ref.namespace,
      ref.space,
      { prefix: ref.path, ...(ref.version !== undefined ? { version: ref.version } : {}) },
    );
    // An older server that lists more than the prefix: kept to it here.
    const files = ref.path === '' ? listed : listed.filter((f) => f.name.startsWith(ref.path));
    if (options.json) {
      io.stdout.write(`${JSON.stringify(files)}\n`);
      return;
    }
    if (files.length === 0) {
      io.stdout.write(`${showRef(ref)}${ref.path ? `/${ref.path}` : ''} is empty\n`);
      return;
    }
    const rows = files.map((f) => [formatBytes(f.size), f.type, f.hash.slice(0, 12), f.createdAt ?? '', f.name]);
    const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    for (const row of rows) {
      io.stdout.write(
        `${row
          .slice(0, 4)
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')}  ${row[4]}\n`,
      );
    }
  } finally {
    await agent.close();
  }
}

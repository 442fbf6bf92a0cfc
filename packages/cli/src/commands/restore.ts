import type { SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { parseSnapshot } from '../target.ts';
import { withServer } from './server-session.ts';
import { commitJson, commitText } from './snapshot-text.ts';

/**
 * `dreamlake restore NAMESPACE/SPACE@N`: a new snapshot whose files are exactly those of
 * version N (the versions between stay in the history); nothing happens when head already is.
 */
export async function restore(
  io: Io,
  snapshotText: string,
  options: SettingFlags & { json?: boolean; message?: string },
): Promise<void> {
  const ref = parseSnapshot(snapshotText);
  await withServer(io, options, async (api) => {
    const answer = await api.restore(ref.namespace, ref.space, {
      version: ref.version,
      message: options.message ?? `restore version ${ref.version}`,
    });
    io.stdout.write(`${options.json ? commitJson(answer) : commitText(ref, answer)}\n`);
  });
}

import type { SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { commitRemoval, removalOf } from '../versions.ts';
import { withServer } from './server-session.ts';
import { commitJson, commitText } from './snapshot-text.ts';

export interface RmOptions extends SettingFlags {
  recursive?: boolean;
  message?: string;
  json?: boolean;
}

/**
 * `dreamlake rm NAMESPACE/SPACE/NAME…` and `rm -r NAMESPACE/SPACE/FOLDER/…`: removes the names
 * (or every name under the folders) from the space's head as one new snapshot; earlier
 * snapshots keep them. A name head lacks is the server's 404, and nothing is removed.
 */
export async function rm(io: Io, targets: string[], options: RmOptions): Promise<void> {
  const removal = removalOf(targets, Boolean(options.recursive));
  await withServer(io, options, async (api) => {
    const answer = await commitRemoval(api, removal, options.message);
    io.stdout.write(`${options.json ? commitJson(answer) : commitText(removal, answer)}\n`);
  });
}

import { resolve } from 'node:path';
import type { SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { CliError } from '../errors.ts';
import { parseSpacePath } from '../target.ts';
import { verifyFolder } from '../verify.ts';
import { withServer } from './server-session.ts';
import { type WalkFlags, walkOptions } from './walk-flags.ts';

/**
 * `dreamlake verify NAMESPACE/SPACE[@N][/FOLDER/] DIR`: whether DIR holds exactly the files of
 * version N (head when no `@`), or of a folder in it. Lists the files missing from DIR, the
 * extra ones and the changed ones, and exits 1 on any difference. Files unchanged since they
 * were last hashed (by an upload, a download or a verify) are not read again.
 */
export async function verify(
  io: Io,
  refText: string,
  dir: string,
  options: SettingFlags & WalkFlags & { json?: boolean },
): Promise<void> {
  const ref = parseSpacePath(refText);
  const cwd = (io.cwd ?? process.cwd)();
  const report = await withServer(io, options, (api, settings) =>
    verifyFolder(api, settings.home, ref, resolve(cwd, dir), walkOptions(options)),
  );
  const shown = `${report.namespace}/${report.space}@${report.version}${report.prefix ? `/${report.prefix}` : ''}`;
  if (options.json) io.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    const lines = [
      ...report.missing.map((name) => `missing  ${name}`),
      ...report.extra.map((name) => `extra    ${name}`),
      ...report.changed.map((name) => `changed  ${name}`),
    ];
    if (lines.length > 0) io.stdout.write(`${lines.join('\n')}\n`);
    const left = report.ignored > 0 ? ` (${report.ignored} the filters leave out not compared)` : '';
    if (report.matches) io.stdout.write(`${report.folder} matches ${shown}: ${report.files} files${left}\n`);
  }
  if (!report.matches)
    throw new CliError(
      `${report.folder} differs from ${shown}: ${report.missing.length} missing, ${report.extra.length} extra, ${report.changed.length} changed`,
    );
}

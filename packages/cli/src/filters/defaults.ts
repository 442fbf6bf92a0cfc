/**
 * What an upload or a sync leaves out unless told otherwise (`defaultIgnores: false`,
 * `--no-default-ignores`): files an operating system, an editor or a version control system
 * leaves in a folder, in gitignore syntax. A folder's `.dreamlakeignore` can bring one back
 * (`!*.pyc`), as its rules come after these.
 */
export const DEFAULT_IGNORES: readonly string[] = [
  '.DS_Store',
  'Thumbs.db',
  'desktop.ini',
  '.git/',
  '.hg/',
  '.svn/',
  '__pycache__/',
  '*.pyc',
  '*.swp',
  '*~',
];

/** The file of ignore rules read in the walked folder and in each of its subfolders; never uploaded itself. */
export const IGNORE_FILE_NAME = '.dreamlakeignore';

export { DEFAULT_IGNORES, IGNORE_FILE_NAME } from './defaults.ts';
export { compileGlobRules, type GlobRule, type GlobVerdict } from './globs.ts';
export { ignoreRules, parseIgnoreFile } from './ignore-file.ts';
export { type FilterOptions, type FolderRules, WalkFilter } from './walk-filter.ts';

/**
 * The download engine, for code that is not the command line: plain options in, an AbortSignal to
 * stop, progress through callbacks, outcomes returned; it never prints or exits.
 */
export { DEFAULTS, DownloadClient, type DownloadClientOptions, type Remote } from './client.ts';
export { unsafeNameReason } from './names.ts';
export type { DownloadEvents, DownloadItem, FileOutcome, RunOptions } from './run.ts';
export { HashMismatchError } from './transfer.ts';

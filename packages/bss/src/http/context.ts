import type { BssConfig } from '../config.ts';
import type { Storage } from '../storage/storage.ts';

/** What every route of the app is given. */
export interface BssContext {
  config: BssConfig;
  storage: Storage;
  /** Unix seconds now. */
  clock: () => number;
}

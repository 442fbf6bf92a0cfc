import { join } from 'node:path';
import type { BssConfig } from '../config.ts';
import { createFsStorage } from './fs/index.ts';
import { createS3Storage } from './s3/index.ts';
import type { Storage } from './storage.ts';

export interface StorageHooks {
  /** Overrides `config.publicUrl` for URLs that point at BSS (known after listen). */
  publicUrl?: () => string;
  /** Unix seconds now. */
  clock?: () => number;
}

/** The configured storage backend. */
export async function createStorage(config: BssConfig, hooks: StorageHooks = {}): Promise<Storage> {
  switch (config.storage) {
    case 'fs':
      return createFsStorage({
        root: join(config.dataDir, 'bss'),
        publicUrl: hooks.publicUrl ?? config.publicUrl,
        secrets: config.secrets,
        ...(hooks.clock ? { clock: hooks.clock } : {}),
      });
    case 's3':
      if (!config.s3) throw new Error('STORAGE=s3 needs the S3 settings (S3_BUCKET, …)');
      return createS3Storage(config.s3, {}, { publicUrl: hooks.publicUrl ?? config.publicUrl });
  }
}

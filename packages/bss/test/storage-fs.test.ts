import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBssApp } from '../src/app.ts';
import { createFsStorage } from '../src/storage/fs/index.ts';
import { httpPut, SECRET, tempDir, testConfig } from './helpers.ts';
import { storageContract } from './storage-contract.ts';

storageContract('fs', async () => {
  const temp = await tempDir();
  const config = testConfig(temp.dir);
  const root = join(temp.dir, 'bss');
  // One instance serves the part PUTs; the one under test shares its folder (no state in memory),
  // and mints URLs that point at the listening app.
  const serving = await createFsStorage({ root, publicUrl: 'http://127.0.0.1:1', secrets: [SECRET] });
  const app = await buildBssApp({ config, storage: serving });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const storage = await createFsStorage({ root, publicUrl: url, secrets: [SECRET] });
  return {
    storage,
    putPart: httpPut,
    async leftovers(hash) {
      const names = await readdir(join(root, 'tmp')).catch(() => [] as string[]);
      return names.filter((name) => name.includes(hash));
    },
    async cleanup() {
      await app.close();
      await temp.remove();
    },
  };
});

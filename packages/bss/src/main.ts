/** Starts BSS alone, configured by the environment; drains on SIGTERM and SIGINT. */
import { runMain } from '@dreamlake/service';
import { loadBssConfig } from './config.ts';
import { startBss } from './start.ts';

runMain({
  name: 'bss',
  load: () => loadBssConfig(process.env),
  start: startBss,
  started(bss, config) {
    bss.app.log.info(
      { url: bss.url, storage: config.storage, requirePresignedUploads: config.requirePresignedUploads },
      'BSS ready',
    );
  },
});

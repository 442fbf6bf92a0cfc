/** Starts BSS alone, configured by the environment; drains on SIGTERM and SIGINT. */
import { exitOnSignals } from '@dreamlake/service';
import { loadBssConfig } from './config.ts';
import { startBss } from './start.ts';

async function main(): Promise<void> {
  const config = loadBssConfig(process.env);
  const bss = await startBss(config);
  bss.app.log.info(
    { url: bss.url, storage: config.storage, requirePresignedUploads: config.requirePresignedUploads },
    'BSS ready',
  );
  exitOnSignals(bss.app.log, (signal) => bss.shutdown(signal));
}

main().catch((error: unknown) => {
  console.error(`bss: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

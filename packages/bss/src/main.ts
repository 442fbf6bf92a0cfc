/** Starts BSS alone, configured by the environment; stops cleanly on SIGINT and SIGTERM. */
import { loadBssConfig } from './config.ts';
import { startBss } from './start.ts';

async function main(): Promise<void> {
  const config = loadBssConfig(process.env);
  const bss = await startBss(config);
  bss.app.log.info(
    { url: bss.url, storage: config.storage, requirePresignedUploads: config.requirePresignedUploads },
    'BSS ready',
  );
  const stop = (signal: string) => {
    bss.app.log.info({ signal }, 'stopping');
    bss.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`bss: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

// Builds the page into dist/: index.html, the page's script, the hashing worker and the styles.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { uppyAddFilesPatch } from './uppy-add-files-patch.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
const require = createRequire(import.meta.url);

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
await build({
  entryPoints: { app: join(here, 'src/ui/main.ts'), 'hash-worker': join(here, 'src/engine/hash-worker.ts') },
  outdir: join(out, 'assets'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  // WEB_MINIFY=0 keeps names readable, for a CPU profile of the page.
  minify: process.env.WEB_MINIFY !== '0',
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
  plugins: [uppyAddFilesPatch],
});
copyFileSync(join(here, 'static/index.html'), join(out, 'index.html'));
copyFileSync(join(here, 'static/app.css'), join(out, 'assets/app.css'));
copyFileSync(require.resolve('@uppy/dashboard/css/style.min.css'), join(out, 'assets/uppy.css'));

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { registerErrorHandling } from '@dreamlake/service';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ServerContext } from '../src/context.ts';
import { contentSecurityPolicy, webRoutes } from '../src/routes/web.ts';
import { testConfig } from './helpers/harness.ts';

async function appWith(distDir: string, overrides: Parameters<typeof testConfig>[0] = {}): Promise<FastifyInstance> {
  const app = Fastify();
  registerErrorHandling(app);
  webRoutes(app, { config: testConfig(overrides) } as ServerContext, distDir);
  await app.ready();
  return app;
}

describe('web page routes', () => {
  let dist: string;
  let app: FastifyInstance;

  before(async () => {
    dist = await mkdtemp(join(tmpdir(), 'dreamlake-web-'));
    await mkdir(join(dist, 'assets'));
    await writeFile(join(dist, 'index.html'), '<!doctype html><title>page</title>');
    await writeFile(join(dist, 'assets/app.js'), 'console.log(1)');
    await writeFile(join(dist, 'assets/app.css'), 'body{}');
    await writeFile(join(dist, 'assets/notes.exe'), 'not served');
    app = await appWith(dist, { allowSignup: false, webConnectOrigins: ['https://s3.example.org:9000'] });
  });
  after(async () => {
    await app.close();
    await rm(dist, { recursive: true, force: true });
  });

  test('/ is the page, with a CSP that allows no inline script and only this server, BSS and the upload origins', async () => {
    const res = await app.inject({ url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/html/);
    assert.match(res.body, /<title>page<\/title>/);
    const csp = res.headers['content-security-policy'] as string;
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /connect-src 'self' http:\/\/bss\.example\.test:10234 https:\/\/s3\.example\.org:9000(;|$)/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  });

  test('assets are served with their media types; other names and paths are 404 JSON errors', async () => {
    const js = await app.inject({ url: '/assets/app.js' });
    assert.equal(js.statusCode, 200);
    assert.match(js.headers['content-type'] as string, /^text\/javascript/);
    assert.equal(js.body, 'console.log(1)');
    const css = await app.inject({ url: '/assets/app.css' });
    assert.match(css.headers['content-type'] as string, /^text\/css/);
    for (const url of [
      '/assets/notes.exe',
      '/assets/missing.js',
      '/assets/..%2Findex.html',
      '/assets/%2E%2E%2F..%2Fetc',
    ]) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().error.code, 'not_found', url);
    }
  });

  test('the page config says whether sign-up is open and where BSS is', async () => {
    const res = await app.inject({ url: '/web/config.json' });
    assert.deepEqual(res.json(), { allowSignup: false, bssOrigin: 'http://bss.example.test:10234' });
    const open = await appWith(dist, { allowSignup: true });
    assert.equal((await open.inject({ url: '/web/config.json' })).json().allowSignup, true);
    await open.close();
  });

  test('without a build, / answers a 404 JSON error that says how to build it', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'dreamlake-web-empty-'));
    const bare = await appWith(empty);
    const res = await bare.inject({ url: '/' });
    assert.equal(res.statusCode, 404);
    assert.match(res.json().error.message, /npm run build/);
    await bare.close();
    await rm(empty, { recursive: true, force: true });
  });

  test('the CSP lists each origin once', () => {
    const csp = contentSecurityPolicy({
      bssPublicUrl: 'http://127.0.0.1:10234/',
      webConnectOrigins: ['http://127.0.0.1:10234', 'https://s3.example.org/bucket'],
    });
    assert.match(csp, /connect-src 'self' http:\/\/127\.0\.0\.1:10234 https:\/\/s3\.example\.org;/);
  });
});

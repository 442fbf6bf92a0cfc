import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { choosePartSize } from '@dreamlake/protocol/client';
import type { Browser } from 'playwright-core';
import {
  createTestBucket,
  readS3TestConfig,
  S3_SKIP_REASON,
  s3EnvVars,
  type TestBucket,
} from '../../packages/bss/test/storage-s3-env.ts';
import { chooseSpace, signUp } from '../../packages/web/test/browser-helpers.ts';
import { type RunningServices, startServicesWithEnv } from '../../packages/web/test/services-with-env.ts';
import { BROWSER_SKIP, buildPage, launchChromium, queueStates, waitForStates } from '../../support/browser.ts';
import { MIB, makeFile, ROOT, sha256File, tempDir, uniqueName } from './harness.ts';

/**
 * What a bucket needs before browsers can PUT to it with presigned URLs: an answer to their CORS
 * preflights (the single-shot staging PUT carries a signed Content-Type) and the ETag of each
 * part exposed to the page, which hands the ETags to BSS to complete the upload.
 */
async function allowBrowserUploads(bucket: TestBucket, origin: string): Promise<void> {
  // The S3 SDK is BSS's dependency, not the page's: it is loaded from BSS's package.
  type Command = Parameters<TestBucket['client']['send']>[0];
  const sdk = createRequire(join(ROOT, 'packages/bss/package.json'))('@aws-sdk/client-s3') as {
    PutBucketCorsCommand: new (input: { Bucket: string; CORSConfiguration: unknown }) => Command;
  };
  const CORSConfiguration = {
    CORSRules: [
      {
        AllowedOrigins: [origin],
        AllowedMethods: ['PUT', 'GET', 'HEAD'],
        AllowedHeaders: ['*'],
        ExposeHeaders: ['ETag'],
        MaxAgeSeconds: 3000,
      },
    ],
  };
  await bucket.client.send(new sdk.PutBucketCorsCommand({ Bucket: bucket.config.bucket, CORSConfiguration }));
}

describe('the web uploader against the S3 backend (RGW)', { skip: BROWSER_SKIP }, () => {
  const s3 = readS3TestConfig();
  // Where the browser's PUTs go: the endpoint itself, as the test server is addressed path-style.
  const s3Origin = s3?.endpoint ? new URL(s3.endpoint).origin : '';
  let bucket: TestBucket | undefined;
  let services: RunningServices | undefined;
  let browser: Browser | undefined;
  let dir: string | undefined;

  before(async () => {
    if (!s3) return;
    assert.ok(s3.endpoint && s3.forcePathStyle, 'the S3 test server is addressed path-style at an endpoint');
    buildPage();
    bucket = await createTestBucket(s3);
    // One after another, so that whatever started is assigned and closed by after() when a later start fails.
    browser = await launchChromium();
    dir = await tempDir('dreamlake-web-s3-');
    services = await startServicesWithEnv({
      bssEnv: s3EnvVars(bucket.config),
      serverEnv: { WEB_CONNECT_ORIGINS: s3Origin },
    });
    await allowBrowserUploads(bucket, services.serverUrl);
  });
  after(async () => {
    await browser?.close();
    await services?.close();
    await bucket?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a small file goes to BSS in one simple POST and a 20 MiB file (multipart) from the page straight to RGW', async (t) => {
    if (!s3) return t.skip(S3_SKIP_REASON);
    assert.ok(services && browser && dir && bucket, 'everything started');
    const folder = join(dir, 'take7');
    await mkdir(folder, { recursive: true });
    const wideBytes = 20 * MIB + 4321;
    await makeFile(join(folder, 'wide.mp4'), wideBytes, 5);
    await writeFile(join(folder, 'notes.txt'), 'first take, good light\n');
    const expected: Record<string, string> = {
      'take7/notes.txt': await sha256File(join(folder, 'notes.txt')),
      'take7/wide.mp4': await sha256File(join(folder, 'wide.mp4')),
    };

    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      // CORS and CSP refusals are reported only here; answers >= 400 are checked below.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    page.on('response', (r) => {
      // Listing a space before its first file is a 404 the page shows as an empty list.
      const listing = r.request().method() === 'GET' && /\/spaces\/takes\/files$/.test(new URL(r.url()).pathname);
      if (r.status() >= 400 && !listing) problems.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
    const puts: { toS3: string[]; elsewhere: string[] } = { toS3: [], elsewhere: [] };
    page.on('request', (r) => {
      const url = new URL(r.url());
      const body = r.method() === 'PUT' || (r.method() === 'POST' && /\/upload\/single(s|\/body)$/.test(url.pathname));
      if (!body) return;
      (url.origin === s3Origin ? puts.toS3 : puts.elsewhere).push(
        `${url.pathname}?${url.searchParams.has('partNumber') ? 'part' : 'object'}`,
      );
    });

    await signUp(page, services.serverUrl, uniqueName('rgw'));
    await chooseSpace(page, 'takes');
    await page.setInputFiles('#drop input[webkitdirectory]', folder);
    try {
      await waitForStates(page, Object.keys(expected), ['done', 'failed']);
    } catch (error) {
      // Without the bucket's CORS rule or the CSP's origin the parts never leave: "paused, retrying".
      t.diagnostic(`${JSON.stringify(await queueStates(page))}\n${problems.join('\n')}\n${services.logs()}`);
      throw error;
    }
    const states = await queueStates(page);
    if (Object.values(states).some((s) => s.startsWith('failed')))
      t.diagnostic(`${problems.join('\n')}\n${services.logs()}`);
    assert.deepEqual(states, { 'take7/notes.txt': 'done', 'take7/wide.mp4': 'done' });

    // The small file went to BSS in one simple POST (BSS writes it to the bucket once verified); the large
    // one went to RGW itself as the parts of the shared part plan (5 of 5 MiB).
    const parts = Math.ceil(wideBytes / choosePartSize(wideBytes));
    assert.deepEqual(puts.elsewhere, ['/upload/singles?object'], 'the small file was one POST to BSS');
    assert.equal(puts.toS3.filter((p) => p.endsWith('?object')).length, 0, 'nothing was staged in the bucket');
    assert.equal(puts.toS3.filter((p) => p.endsWith('?part')).length, parts, `the 20 MiB file went as ${parts} parts`);
    assert.deepEqual(await bucket.multipartKeys(), [], 'no multipart upload is left open in the bucket');

    await page.waitForFunction(() => document.querySelectorAll('#files tbody tr[data-name]').length === 2);
    const listed = await page.$$eval('#files tbody tr[data-name]', (rows) =>
      rows.map((r) => [(r as HTMLElement).dataset.name, r.querySelector('.hash')?.textContent]),
    );
    assert.deepEqual(Object.fromEntries(listed), expected);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#files tr[data-name="take7/wide.mp4"] button.download'),
    ]);
    const saved = join(dir, 'wide-copy.mp4');
    await download.saveAs(saved);
    assert.equal(await sha256File(saved), expected['take7/wide.mp4']);
    assert.deepEqual(problems, []);
    await context.close();
  });
});

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { formatBytes, formatDuration, Progress } from '../src/progress.ts';

function capture(isTTY: boolean): { stream: PassThrough & { isTTY: boolean; columns: number }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 120 });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

test('when stdout is not a terminal, only the plain lines are written', async () => {
  const out = capture(false);
  const err = capture(false);
  const progress = new Progress({ out: out.stream, err: err.stream, live: false, color: false });
  progress.start(1, 100);
  progress.begin('a.mp4', 100);
  progress.phase('a.mp4', 'uploading');
  progress.sent('a.mp4', 60);
  progress.render();
  progress.note('a note');
  progress.end('a.mp4');
  progress.log('alice/runs/a.mp4  done');
  progress.stop();
  assert.equal(out.text(), 'alice/runs/a.mp4  done\n');
  assert.equal(err.text(), 'a note\n');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this matches
  assert.doesNotMatch(out.text(), /\x1b/);
});

test('on a terminal the display shows bytes, rate and ETA per file and in total, redrawn in place', () => {
  let now = 0;
  const out = capture(true);
  const progress = new Progress({
    out: out.stream,
    err: capture(false).stream,
    live: true,
    color: false,
    now: () => now,
  });
  progress.start(2, 200 * 1024 * 1024);
  progress.begin('a.mp4', 100 * 1024 * 1024);
  progress.phase('a.mp4', 'uploading');
  progress.sent('a.mp4', 0);
  now = 2000;
  progress.sent('a.mp4', 50 * 1024 * 1024);
  const lines = progress.lines();
  assert.equal(lines.length, 2);
  assert.match(lines[0] ?? '', /a\.mp4 +50\.0 MiB \/ 100\.0 MiB +25\.0 MiB\/s/);
  assert.match(lines[1] ?? '', /total +0\/2 files +50\.0 MiB \/ 200\.0 MiB +25\.0 MiB\/s +ETA 6s/);
  progress.render();
  progress.render();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this matches
  assert.match(out.text(), /\x1b\[2F/, 'the second frame moves up over the first');
  progress.stop();
});

test("a file's rate counts its transfer only, not its hashing, and its line has an ETA", () => {
  let now = 0;
  const progress = new Progress({
    out: capture(true).stream,
    err: capture(false).stream,
    live: true,
    color: false,
    now: () => now,
  });
  progress.start(1, 100 * 1024 * 1024);
  progress.begin('big.bin', 100 * 1024 * 1024);
  progress.phase('big.bin', 'hashing');
  now = 8000;
  progress.hashed('big.bin', 100 * 1024 * 1024);
  progress.phase('big.bin', 'uploading');
  progress.sent('big.bin', 0);
  now = 10_000;
  progress.sent('big.bin', 50 * 1024 * 1024);
  const [file, total] = progress.lines();
  assert.match(file ?? '', /big\.bin +50\.0 MiB \/ 100\.0 MiB +25\.0 MiB\/s +ETA 2s$/);
  assert.match(total ?? '', /25\.0 MiB\/s +ETA 2s$/, 'the file and the total agree for a single file');
  progress.stop();
});

test('without a terminal, a long file gets a plain progress line on stderr at most every 10 s', () => {
  let now = 0;
  const out = capture(false);
  const err = capture(false);
  const progress = new Progress({
    out: out.stream,
    err: err.stream,
    live: false,
    color: false,
    plainEveryMs: 10_000,
    now: () => now,
  });
  progress.start(1, 1000 * 1024 * 1024);
  progress.begin('big.bin', 1000 * 1024 * 1024);
  progress.phase('big.bin', 'hashing');
  now = 4000;
  progress.hashed('big.bin', 1000 * 1024 * 1024);
  progress.phase('big.bin', 'uploading');
  for (let i = 1; i <= 25; i += 1) {
    now = 4000 + i * 1000;
    progress.sent('big.bin', 20 * 1024 * 1024);
  }
  progress.end('big.bin');
  progress.stop();
  const lines = err.text().trim().split('\n');
  assert.deepEqual(lines, [
    'big.bin  12%  120.0 MiB / 1000.0 MiB  20.0 MiB/s  ETA 44s',
    'big.bin  32%  320.0 MiB / 1000.0 MiB  20.0 MiB/s  ETA 34s',
  ]);
  assert.equal(out.text(), '', 'stdout keeps only the result lines');
});

test('a short file without a terminal gets no progress lines; the summary names files, bytes, time and rate', () => {
  let now = 0;
  const err = capture(false);
  const progress = new Progress({
    out: capture(false).stream,
    err: err.stream,
    live: false,
    color: false,
    plainEveryMs: 10_000,
    now: () => now,
  });
  progress.start(2, 12 * 1024 * 1024);
  progress.begin('a.bin', 8 * 1024 * 1024);
  progress.phase('a.bin', 'uploading');
  now = 2000;
  progress.sent('a.bin', 8 * 1024 * 1024);
  progress.end('a.bin');
  progress.begin('b.bin', 4 * 1024 * 1024);
  progress.skipped();
  progress.end('b.bin');
  now = 4000;
  progress.stop();
  assert.equal(err.text(), '');
  assert.equal(progress.summary(), 'done: 2 files (1 already stored), 8.0 MiB sent in 4.0s, 2.0 MiB/s average');
});

// NO_COLOR itself is read by the commands: e2e/no-color.test.ts sets it on a real upload.
test('color off leaves no colour codes on a terminal', () => {
  const out = capture(true);
  const progress = new Progress({ out: out.stream, err: capture(false).stream, live: true, color: false });
  progress.start(1, 10);
  progress.begin('x', 10);
  progress.phase('x', 'uploading');
  progress.sent('x', 5);
  progress.render();
  progress.stop();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this matches
  assert.doesNotMatch(out.text(), /\x1b\[\d+m/);
});

test('sizes and durations read naturally', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(46.51162790697675), '47 B', 'a rate under 1 KiB/s in whole bytes');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(1024 ** 3), '1.0 GiB');
  assert.equal(formatDuration(59), '59s');
  assert.equal(formatDuration(125), '2m05s');
  assert.equal(formatDuration(Number.NaN), '--');
});

test('drained() waits while the lines written have not gone out to a slow reader, and not at all otherwise', async () => {
  const stream = Object.assign(new PassThrough({ highWaterMark: 1024 }), { isTTY: false, columns: 120 });
  const progress = new Progress({ out: stream, err: capture(false).stream, live: false, color: false });
  let drained = false;
  await progress.drained();
  for (let i = 0; i < 100; i += 1) progress.log(`{"name":"frames/${i}.jpg","skipped":true}`);
  const waiting = progress.drained().then(() => {
    drained = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(drained, false, 'nothing has read the lines yet');
  let lines = '';
  stream.on('data', (c: Buffer) => {
    lines += c.toString();
  });
  await waiting;
  assert.equal(lines.trimEnd().split('\n').length, 100);

  // A stream closed while lines wait: nothing to wait for.
  const closing = Object.assign(new PassThrough({ highWaterMark: 16 }), { isTTY: false, columns: 120 });
  const other = new Progress({ out: closing, err: capture(false).stream, live: false, color: false });
  other.log('a line longer than the high-water mark');
  const pending = other.drained();
  closing.destroy();
  await pending;
});

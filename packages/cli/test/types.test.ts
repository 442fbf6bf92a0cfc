import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectContentType, detectType } from '../src/types.ts';

test('asset types follow the extension table, case-insensitively', () => {
  const cases: Record<string, string> = {
    'a.mp4': 'videos',
    'b.MKV': 'videos',
    'c.wav': 'audio',
    'd.mp3': 'audio',
    'e.aac': 'audio',
    'f.opus': 'audio',
    'g.jpg': 'image',
    'h.jpeg': 'image',
    'i.png': 'image',
    'j.gif': 'image',
    'k.webp': 'image',
    'l.bmp': 'image',
    'm.tif': 'image',
    'n.TIFF': 'image',
    'o.srt': 'text-tracks',
    'p.vtt': 'text-tracks',
    'q.jsonl': 'labels',
    'r.npy': 'tracks',
    's.msgpack': 'tracks',
    't.csv': 'tracks',
    'u.txt': 'files',
    'v.json': 'files',
    noext: 'files',
    '.mp4': 'files',
    'dir.mp4/readme': 'files',
    'run42/sub/b.csv': 'tracks',
  };
  for (const [name, type] of Object.entries(cases)) assert.equal(detectType(name), type, name);
});

test('content types come from the extension, octet-stream otherwise', () => {
  assert.equal(detectContentType('clip.mp4'), 'video/mp4');
  assert.equal(detectContentType('x.CSV'), 'text/csv');
  assert.equal(detectContentType('blob.bin'), 'application/octet-stream');
});

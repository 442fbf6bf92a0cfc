import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileNameProblem } from '@dreamlake/protocol';

const hex = (c: string) => `U+${c.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')}`;

test('file names: bidirectional controls are refused, naming the character', () => {
  // "invoice\u202Efdp.exe" shows as "invoiceexe.pdf".
  for (const c of ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069']) {
    const problem = fileNameProblem(`invoice${c}fdp.exe`);
    assert.match(problem ?? '', /bidirectional/, hex(c));
    assert.ok(problem?.includes(hex(c)), `${problem} names ${hex(c)}`);
  }
  for (const c of ['\u200E', '\u200F', '\u061C'])
    assert.match(fileNameProblem(`a${c}b`) ?? '', /bidirectional/, hex(c));
});

test('file names: zero-width, invisible and other format characters are refused', () => {
  for (const c of [
    '\u200B',
    '\u200C',
    '\u200D',
    '\u2060',
    '\uFEFF',
    '\u00AD',
    '\u2062',
    '\u180E',
    '\u{E0041}',
    '\u3164',
    '\u115F',
    '\uFFA0',
    '\u2028',
    '\u2029',
  ]) {
    const problem = fileNameProblem(`run/a${c}b.csv`);
    assert.match(problem ?? '', /invisible|line/, hex(c));
    assert.ok(problem?.includes(hex(c)), `${problem} names ${hex(c)}`);
  }
  // A zero-width space at the start of a segment is no better.
  assert.notEqual(fileNameProblem('\u200Brun/a.csv'), null);
});

test('file names: visible text of any script still passes', () => {
  for (const ok of [
    'العربية/ملف.txt',
    'עברית.csv',
    '日本語/ファイル.png',
    'emoji 😀.jpg',
    'café ☕.txt',
    'heart ❤️.png',
    'a b.txt',
  ])
    assert.equal(fileNameProblem(ok), null, ok);
});

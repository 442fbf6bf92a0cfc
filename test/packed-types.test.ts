/**
 * The public packages as a project outside the monorepo gets them: @dreamlake/protocol, presign and
 * cli are built and packed with npm, installed from the tarballs into a temporary project, and the
 * root README's library example is type-checked there by tsc (strict, NodeNext resolution) through
 * the .d.ts files the builds emit and the "types" condition of each package's exports.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../support/process.ts';

const PACKED = ['protocol', 'presign', 'cli'] as const;
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

function run(command: string, args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 90_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function mustRun(command: string, args: string[], cwd: string): string {
  const { status, output } = run(command, args, cwd);
  assert.equal(status, 0, `${command} ${args.join(' ')} failed:\n${output}`);
  return output;
}

const NPM_SKIP = spawnSync('npm', ['--version']).error ? 'npm is not installed: the packages cannot be packed' : false;

/** The code block under the root README's "From a Node program", as written there. */
function readmeExample(readme: string): string {
  const section = readme.split(/^## From a Node program$/m)[1];
  const block = section?.match(/^```js\n([\s\S]*?)^```$/m);
  if (!block?.[1]) throw new Error('README.md has no ```js block under "## From a Node program"');
  return block[1];
}

describe('the packed packages type-check a program outside the monorepo', { skip: NPM_SKIP }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dreamlake-packed-'));
  const project = join(dir, 'project');
  const tarballs = new Map<string, string>();
  const contents = new Map<string, string[]>();
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(() => {
    for (const name of PACKED) {
      // A copy of the package (sources, tests and all, so that its "files" field decides what is
      // packed), built into the copy's dist/ from the repository's sources and tsconfig.
      const source = join(ROOT, 'packages', name);
      const stage = join(dir, 'stage', name);
      cpSync(source, stage, {
        recursive: true,
        filter: (path) => !/[/\\](node_modules|dist)$/.test(path),
      });
      mustRun(
        process.execPath,
        [TSC, '-p', join(source, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')],
        ROOT,
      );
      const packed = JSON.parse(mustRun('npm', ['pack', stage, '--json', '--pack-destination', dir], dir)) as Array<{
        filename: string;
        files: Array<{ path: string }>;
      }>;
      const [tarball] = packed;
      assert.ok(tarball, `npm pack answered no tarball for ${name}`);
      tarballs.set(name, join(dir, tarball.filename));
      contents.set(
        name,
        tarball.files.map((file) => file.path),
      );
    }
    const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'example',
        private: true,
        type: 'module',
        dependencies: {
          ...Object.fromEntries(PACKED.map((name) => [`@dreamlake/${name}`, `file:${tarballs.get(name)}`])),
          '@types/node': rootPackage.devDependencies['@types/node'],
        },
      }),
    );
    // The cache first (a registry round trip only for what it lacks); the tarballs' own
    // dependencies (the cli's on @dreamlake/protocol) resolve to the tarballs installed beside them.
    mustRun('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], project);
  });

  test('each tarball holds the build, its declarations and nothing of src/ or test/', () => {
    for (const name of PACKED) {
      const files = contents.get(name) ?? [];
      assert.ok(files.includes('dist/index.js'), `${name}: ${files.join(', ')}`);
      assert.ok(files.includes('dist/index.d.ts'), `${name}: ${files.join(', ')}`);
      assert.deepEqual(
        files.filter((file) => /^(src|test)\//.test(file)),
        [],
        name,
      );
    }
    assert.ok(contents.get('cli')?.includes('bin/dreamlake.js'));
    assert.ok(contents.get('protocol')?.includes('dist/client/index.d.ts'));
    // The cli's dependency on @dreamlake/protocol is the protocol's tarball, not a copy from a registry.
    const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string }>;
    };
    const protocols = Object.entries(lock.packages).filter(([path]) =>
      path.endsWith('node_modules/@dreamlake/protocol'),
    );
    assert.deepEqual(
      protocols.map(([path, entry]) => [path, entry.resolved]),
      [['node_modules/@dreamlake/protocol', `file:${relative(project, tarballs.get('protocol') ?? '')}`]],
    );
  });

  test("the root README's library example type-checks, and a type error in it is reported", () => {
    const example = readmeExample(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    writeFileSync(join(project, 'example.ts'), example);
    // The same program with one argument of the wrong type: tsc must refuse it, or the types above
    // checked nothing (an `any` where a declaration went missing).
    const broken = example.replace('to: space', 'to: 42');
    assert.notEqual(broken, example, 'the example no longer names `to: space`: change the broken copy');
    writeFileSync(join(project, 'broken.ts'), broken);
    // The other entries: the protocol's client and presign.
    writeFileSync(
      join(project, 'entries.ts'),
      [
        "import { planParts } from '@dreamlake/protocol';",
        "import { ServerApi, transport } from '@dreamlake/protocol/client';",
        "import { presignUrl } from '@dreamlake/presign';",
        'export const entries = [planParts, ServerApi, transport, presignUrl];',
        '',
      ].join('\n'),
    );
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext'];
    const good = run(process.execPath, [TSC, ...flags, '--target', 'es2022', 'example.ts', 'entries.ts'], project);
    assert.equal(good.status, 0, good.output);
    const bad = run(process.execPath, [TSC, ...flags, '--target', 'es2022', 'broken.ts'], project);
    assert.notEqual(bad.status, 0, 'tsc took `to: 42`');
    assert.match(bad.output, /broken\.ts\(\d+,\d+\): error TS2322/);
  });
});

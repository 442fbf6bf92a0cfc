/**
 * The long form of packages/bss/test/invariant.test.ts: the publish promise checked by random
 * interleavings of uploads against BSS, for as long as asked.
 *
 *   npm run fuzz                         30 minutes on each backend (disk, and S3 when DREAMLAKE_TEST_S3_ENV is set), at once
 *   npm run fuzz -- 5 fs                 5 minutes, disk only
 *   npm run fuzz -- --backend s3 --seed S --path P [--replay-path R]   replays a failure it printed
 *
 * Prints the seed of each backend's search, how many runs and steps it made, and on a failure the
 * counterexample (shrunk for up to --shrink-minutes, default 5) and the command that replays it.
 * Exits 1 on a failure.
 */
import type { Backend } from '../packages/bss/test/invariant/harness.ts';
import {
  describeStats,
  type InvariantResult,
  replayCommand,
  runInvariant,
} from '../packages/bss/test/invariant/run.ts';
import { readS3TestConfig, S3_SKIP_REASON } from '../packages/bss/test/storage-s3-env.ts';

interface Args {
  minutes: number;
  backends: Backend[];
  seed?: number;
  path?: string;
  replayPath?: string;
  shrinkMinutes: number;
}

function usage(message: string): never {
  console.error(
    `${message}\nusage: npm run fuzz -- [minutes] [fs|s3|both] [--seed N --path P [--replay-path R]] [--shrink-minutes M]`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { minutes: 30, backends: ['fs', 's3'], shrinkMinutes: 5 };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const value = () => argv[++i] ?? usage(`${arg} needs a value`);
    if (arg === '--seed') args.seed = Number(value());
    else if (arg === '--path') args.path = value();
    else if (arg === '--replay-path') args.replayPath = value();
    else if (arg === '--backend') positional[1] = value();
    else if (arg === '--minutes') positional[0] = value();
    else if (arg === '--shrink-minutes') args.shrinkMinutes = Number(value());
    else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
    else positional.push(arg);
  }
  if (positional[0] !== undefined) args.minutes = Number(positional[0]);
  if (!(args.minutes > 0)) usage('minutes must be a positive number');
  const backend = positional[1] ?? 'both';
  if (backend === 'both') args.backends = ['fs', 's3'];
  else if (backend === 'fs' || backend === 's3') args.backends = [backend];
  else usage(`unknown backend ${backend}`);
  if (args.seed !== undefined && !Number.isInteger(args.seed)) usage('--seed must be an integer');
  if (args.path !== undefined && args.seed === undefined) usage('--path needs the --seed it was printed with');
  return args;
}

function print(backend: Backend, line: string): void {
  console.log(`[${backend}] ${line}`);
}

/** Replays a failure with shrinking on, for a shorter counterexample (a race may not come back). */
async function shrink(backend: Backend, found: InvariantResult, minutes: number): Promise<InvariantResult> {
  if (minutes <= 0 || !found.path) return found;
  print(backend, `shrinking for up to ${minutes} min…`);
  const until = Date.now() + minutes * 60_000;
  // A failure that needs a race may not come back at once: the replay is tried a few times.
  for (let attempt = 1; attempt <= 5 && Date.now() < until; attempt += 1) {
    const shrunk = await runInvariant({
      backend,
      numRuns: 1,
      seed: found.seed,
      path: found.path,
      ...(found.replayPath ? { replayPath: found.replayPath } : {}),
      shrink: true,
      timeLimitMs: until - Date.now(),
    });
    if (shrunk.failed) return shrunk;
  }
  print(backend, 'the replays did not fail again (a race that did not recur): keeping the first counterexample');
  return found;
}

async function fuzz(backend: Backend, args: Args): Promise<boolean> {
  const replaying = args.path !== undefined;
  const started = Date.now();
  const first = await runInvariant({
    backend,
    numRuns: replaying ? 1 : Number.MAX_SAFE_INTEGER,
    ...(replaying ? {} : { timeLimitMs: args.minutes * 60_000 }),
    ...(args.seed !== undefined ? { seed: args.seed } : {}),
    ...(args.path !== undefined ? { path: args.path } : {}),
    ...(args.replayPath !== undefined ? { replayPath: args.replayPath } : {}),
  });
  print(backend, `seed ${first.seed}`);
  print(backend, `${describeStats(first.stats)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (!first.failed) {
    print(backend, replaying ? 'the replay held the promise' : 'the promise held');
    return true;
  }
  const result = replaying ? first : await shrink(backend, first, args.shrinkMinutes);
  print(backend, `THE PROMISE BROKE\n${result.report}`);
  print(backend, `replay: ${replayCommand(backend, result)}`);
  return false;
}

const args = parseArgs(process.argv.slice(2));
const backends = args.backends.filter((backend) => {
  if (backend === 's3' && !readS3TestConfig()) {
    console.log(`[s3] skipped: ${S3_SKIP_REASON}`);
    return false;
  }
  return true;
});
if (args.seed !== undefined) console.log(`seed ${args.seed}${args.path ? `, path ${args.path}` : ''}`);
console.log(`fuzzing ${backends.join(' and ')} for ${args.minutes} min each, at once`);
const held = await Promise.all(backends.map((backend) => fuzz(backend, args)));
process.exit(held.every(Boolean) ? 0 : 1);

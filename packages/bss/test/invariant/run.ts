/**
 * Runs the model-based property: for each run, 2-4 genuine files and a random sequence of
 * commands (commands.ts) against a fresh BSS (harness.ts), the promise checked after every step
 * (model.ts). The short form in `npm test` and the long form (`npm run fuzz`) both call it.
 */

import { MIN_PART_SIZE } from '@dreamlake/protocol';
import fc from 'fast-check';
import { commandArbitraries } from './commands.ts';
import { type Backend, type StorageWrap, World } from './harness.ts';
import { genuineFile, type Model, newStats, type Stats } from './model.ts';

export interface InvariantOptions {
  backend: Backend;
  /** Runs to make at most. */
  numRuns: number;
  /** Stops starting runs after this long (a run under way finishes); no limit when unset. */
  timeLimitMs?: number;
  /** Commands per run at most. */
  maxCommands?: number;
  /** Files of more than one part (5 MiB and more) too. */
  multipart?: boolean;
  seed?: number;
  /** fast-check's path of a counterexample, to replay it (with its seed). */
  path?: string;
  /** The commands' replay path fast-check printed with the counterexample. */
  replayPath?: string;
  /** Shrink a failure to a shorter sequence (slow: every shrink step is a full run). */
  shrink?: boolean;
  wrap?: StorageWrap;
}

export interface InvariantResult {
  failed: boolean;
  seed: number;
  /** The counterexample's path (with `seed`, replays it). */
  path: string | undefined;
  replayPath: string | undefined;
  /** fast-check's report of the failure: the shortest counterexample and the error. */
  report: string | undefined;
  stats: Stats;
  interrupted: boolean;
}

const SMALL_SIZES = [1, 2, 100, 4096, 65_539, 1024 * 1024 + 7];
const MULTIPART_SIZES = [MIN_PART_SIZE + 1, MIN_PART_SIZE + 65_536];

function filesArbitrary(multipart: boolean) {
  const size = multipart
    ? fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...SMALL_SIZES) },
        { weight: 1, arbitrary: fc.constantFrom(...MULTIPART_SIZES) },
      )
    : fc.constantFrom(...SMALL_SIZES);
  return fc.record({ seed: fc.nat(), sizes: fc.array(size, { minLength: 2, maxLength: 4 }) });
}

export async function runInvariant(options: InvariantOptions): Promise<InvariantResult> {
  const stats = newStats();
  // fast-check takes a 32-bit signed seed: the one printed is the one it reports.
  const seed = options.seed !== undefined ? options.seed | 0 : (Math.random() * 0x100000000) | 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  /** The failure of a run that was under way when the time limit came (fast-check no longer looks at it). */
  let late: { index: number; value: string; error: unknown } | undefined;
  const property = fc.asyncProperty(
    filesArbitrary(options.multipart ?? true),
    fc.commands(commandArbitraries(options.backend), {
      maxCommands: options.maxCommands ?? 40,
      size: 'max',
      ...(options.replayPath ? { replayPath: options.replayPath } : {}),
    }),
    async (files, commands) => {
      const index = stats.runs;
      const run = (async () => {
        stats.runs += 1;
        const world = await World.open({ backend: options.backend, ...(options.wrap ? { wrap: options.wrap } : {}) });
        try {
          const model: Model = {
            seed: files.seed,
            files: files.sizes.map((size, i) => genuineFile(i, files.seed, size)),
            uploads: [],
            staged: [],
            signed: new Set(),
            stats,
          };
          await fc.asyncModelRun(() => ({ model, real: world }), commands);
        } finally {
          await world.close();
        }
      })();
      inFlight = run.catch((error: unknown) => {
        late = { index, value: `[${JSON.stringify(files)},${String(commands)}]`, error };
      });
      await run;
    },
  );
  const details = await fc.check(property, {
    numRuns: options.numRuns,
    seed,
    ...(options.path ? { path: options.path } : {}),
    endOnFailure: !(options.shrink ?? false),
    ...(options.timeLimitMs ? { plugins: [fc.interruptAfterTimeLimit(options.timeLimitMs)] } : {}),
  });
  // A run the time limit cut short goes on in the background: let it end and clean up.
  await inFlight;
  const explain = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  // An interruption before any run ended counts as a failure to fast-check, with no counterexample.
  let failed = details.failed && details.counterexample !== null;
  let path = details.counterexamplePath ?? undefined;
  let report = failed ? `${fc.defaultReportMessage(details)}\n${explain(details.errorInstance)}` : undefined;
  const lateFailure = late as typeof late;
  if (!failed && lateFailure && options.path === undefined) {
    // Run i of a seed is path "i": the failure replays like any other.
    failed = true;
    path = String(lateFailure.index);
    report = `Run ${lateFailure.index} failed as the time limit came\n{ seed: ${seed}, path: "${path}" }\nCounterexample: ${lateFailure.value}\n${explain(lateFailure.error)}`;
  }
  const replayPath = report ? /replayPath="([^"]*)"/.exec(report)?.[1] : undefined;
  return { failed, seed, path, replayPath, report, stats, interrupted: details.interrupted };
}

/** The command that replays a failure. */
export function replayCommand(backend: Backend, result: InvariantResult): string {
  const replay = result.replayPath ? ` --replay-path '${result.replayPath}'` : '';
  return `npm run fuzz -- --backend ${backend} --seed ${result.seed} --path '${result.path}'${replay}`;
}

/** What the runs did: how many, how many steps, and what BSS answered to each kind of request. */
export function describeStats(stats: Stats): string {
  const answers = Object.entries(stats.answers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name}: ${n}`)
    .join(', ');
  return `${stats.runs} runs, ${stats.steps} steps; answers: ${answers}`;
}

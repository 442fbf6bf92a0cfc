import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runPeriodically } from '../src/periodic.ts';

/** A job held until its gate opens: counts its runs and how many ran at once. */
function gatedJob() {
  const state = { runs: 0, active: 0, mostAtOnce: 0, finished: 0 };
  let open: () => void = () => {};
  let gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    state,
    run: async () => {
      state.runs += 1;
      state.active += 1;
      state.mostAtOnce = Math.max(state.mostAtOnce, state.active);
      await gate;
      state.active -= 1;
      state.finished += 1;
    },
    /** Lets the running job finish; the next one waits again. */
    release() {
      const opened = open;
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      opened();
    },
  };
}

test('a slow run skips the ticks that find it still going, and the next tick after it runs again', async () => {
  const job = gatedJob();
  let skipped = 0;
  const runner = runPeriodically(job.run, {
    intervalMs: 10,
    onError: (error) => assert.fail(String(error)),
    onSkip: () => {
      skipped += 1;
    },
  });
  try {
    // Runs at once, then twenty-odd ticks come while that run is held.
    assert.equal(job.state.runs, 1);
    await sleep(250);
    assert.equal(job.state.runs, 1, 'a tick started a run while the previous one was still going');
    assert.equal(job.state.mostAtOnce, 1);
    assert.ok(skipped >= 3, `only ${skipped} ticks came in 250 ms`);

    job.release();
    const deadline = Date.now() + 10_000;
    while (job.state.runs < 2) {
      assert.ok(Date.now() < deadline, 'no run after the slow one finished');
      await sleep(5);
    }
    assert.equal(job.state.finished, 1);
    assert.equal(job.state.mostAtOnce, 1);
  } finally {
    job.release();
    await runner.stop();
  }
});

test('stop waits for the run under way, and no run starts after it', async () => {
  const job = gatedJob();
  const runner = runPeriodically(job.run, { intervalMs: 10, onError: (error) => assert.fail(String(error)) });
  assert.equal(job.state.active, 1);
  let stopped = false;
  const stopping = runner.stop().then(() => {
    stopped = true;
  });
  await sleep(50);
  assert.equal(stopped, false, 'stop returned while the run was still going');
  job.release();
  await stopping;
  assert.equal(job.state.finished, 1, 'stop returned before the run finished');
  const runs = job.state.runs;
  await sleep(50);
  assert.equal(job.state.runs, runs, 'a tick ran after stop');
});

test('a run that fails is reported and the next tick runs again', async () => {
  const errors: unknown[] = [];
  let runs = 0;
  const runner = runPeriodically(
    async () => {
      runs += 1;
      throw new Error(`run ${runs} failed`);
    },
    { intervalMs: 10, onError: (error) => errors.push(error) },
  );
  try {
    const deadline = Date.now() + 10_000;
    while (runs < 2) {
      assert.ok(Date.now() < deadline, 'no run after the failed one');
      await sleep(5);
    }
  } finally {
    await runner.stop();
  }
  assert.ok(errors.length >= 1);
  assert.match(String(errors[0]), /run 1 failed/);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Phase, ProcessSample, Sample } from '../scripts/soak-samples.ts';
import { type Check, flatnessChecks, restSamples, seriesReports } from '../scripts/soak-verdict.ts';

const SAMPLE_SECONDS = 10;

/** One process at rest: the values a leak-free service shows after a full collection. */
const base: ProcessSample = {
  rssMiB: 140,
  rssAnonMiB: 90,
  rssFileMiB: 50,
  heapMiB: 32,
  externalMiB: 5,
  fds: 39,
  sockets: 8,
};

interface Shape {
  /** Added to the RSS at rest after each minute of load (a native leak). */
  leakPerLoadMinute?: number;
  /** Added to the heap at rest after each load (what a map that never empties leaves behind). */
  heapPerLoad?: number;
  /** Sockets left open per load. */
  socketsPerLoad?: number;
}

/**
 * A soak run as soak.ts samples it: a warm-up, then `cycles` loads each followed by a quiet
 * period whose last sample is at rest. Under load the RSS climbs back from the collected level
 * by 40 MiB within a minute and the heap saw-tooths; at rest both are back down, plus what the
 * shape leaks.
 */
function run(cycles: number, loadSeconds: number, shape: Shape = {}): Sample[] {
  const samples: Sample[] = [];
  let t = 0;
  let leaked = 0;
  let heapLeft = 0;
  let socketsLeft = 0;
  const push = (phase: Phase, cycle: number, p: Partial<ProcessSample>) => {
    const value = { ...base, ...p };
    samples.push({ t, phase, cycle, server: value, bss: { ...base } });
    t += SAMPLE_SECONDS;
  };
  for (let cycle = 0; cycle <= cycles; cycle++) {
    for (let s = 0; s < loadSeconds; s += SAMPLE_SECONDS) {
      leaked += ((shape.leakPerLoadMinute ?? 0) * SAMPLE_SECONDS) / 60;
      const climb = Math.min(40, (40 * s) / 60);
      push(cycle === 0 ? 'warm-up' : 'load', cycle, {
        rssMiB: base.rssMiB + leaked + climb,
        heapMiB: base.heapMiB + heapLeft + ((s / SAMPLE_SECONDS) % 3) * 15,
        sockets: base.sockets + socketsLeft + 20,
      });
    }
    heapLeft += shape.heapPerLoad ?? 0;
    socketsLeft += shape.socketsPerLoad ?? 0;
    const rest = {
      rssMiB: base.rssMiB + leaked,
      heapMiB: base.heapMiB + heapLeft,
      sockets: base.sockets + socketsLeft,
    };
    push('quiet', cycle, { ...rest, rssMiB: rest.rssMiB + 40 });
    push('quiet', cycle, rest);
  }
  return samples;
}

const failed = (checks: Check[]) => checks.filter((c) => !c.ok).map((c) => c.what);

describe('soak verdict', () => {
  it('takes the last sample of each quiet period as the value at rest, one per cycle', () => {
    const rests = restSamples(run(4, 90));
    assert.deepEqual(
      rests.map((s) => s.cycle),
      [0, 1, 2, 3, 4],
    );
    assert.ok(rests.every((s) => s.server.rssMiB === base.rssMiB));
  });

  it('passes a service whose RSS climbs back under load after each collection but not at rest', () => {
    const samples = run(4, 90);
    const reports = seriesReports(samples);
    const underLoad = Math.max(...samples.filter((s) => s.phase === 'load').map((s) => s.server.rssMiB));
    assert.equal(underLoad, base.rssMiB + 40);
    assert.deepEqual(failed(flatnessChecks(reports)), []);
  });

  it('fails a native leak of 3 MiB per minute of load, seen in the RSS at rest', () => {
    const checks = failed(flatnessChecks(seriesReports(run(4, 90, { leakPerLoadMinute: 3 }))));
    assert.equal(checks.length, 1);
    assert.match(checks[0] ?? '', /^server RSS at rest after each load, slope 2\.\d\d MiB\/min < 2/);
  });

  it('does not judge the RSS of a run with fewer loads than the rule needs, and still judges the rest', () => {
    const short = flatnessChecks(seriesReports(run(1, 30, { leakPerLoadMinute: 30, heapPerLoad: 5 })));
    assert.deepEqual(failed(short), ['server heap at rest 42.0 <= 37.0 + 4']);
    assert.ok(short.some((c) => c.ok && /server RSS at rest not judged: 1 loads after warm-up/.test(c.what)));
  });

  it('fails sockets left open by each load', () => {
    assert.deepEqual(failed(flatnessChecks(seriesReports(run(4, 60, { socketsPerLoad: 2 })))), [
      'server open sockets at rest 18 <= 10 + 4',
    ]);
  });
});

/** TimeSync in virtual time: a node's clock against a reference clock over a path with delays. */
import { describe, expect, it } from 'vitest';
import { type Clock, DriftClock, VirtualClock } from '../../../common/core/clock.ts';
import {
  SYNC_BURST_INTERVAL_MS,
  SYNC_BURST_SAMPLES,
  SYNC_INTERVAL_MS,
  SYNC_MAX_RTT_MS,
  selfReference,
  TimeSync,
  type TimeRequest,
} from '../../../onode/core/time-sync.ts';

/** One way's delay (ms) for the n-th request. */
type Delay = (n: number) => number;

/**
 * How to drive TimeSync against a reference (the pattern for the simulator): each request travels
 * `up` ms of true time, the reference answers at once with its clock, the answer travels `down` ms.
 * `base` is true time; the node's and the reference's clocks are any clocks on it.
 */
function drive(base: VirtualClock, node: Clock, reference: Clock, up: Delay, down: Delay) {
  const sent: TimeRequest[] = [];
  const sync = new TimeSync(node, (req) => {
    const n = sent.length;
    sent.push(req);
    base.setTimer(up(n), () => {
      const at = reference.now();
      base.setTimer(down(n), () => sync.reply(req.id, req.t0, at));
    });
  });
  /** How far the estimate is from the reference's true time now. */
  const errorNow = (): number => Math.abs(sync.referenceNow() - reference.now());
  return { sync, sent, errorNow };
}

/** A small deterministic PRNG (mulberry32), so jitter is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BURST_MS = SYNC_BURST_SAMPLES * SYNC_BURST_INTERVAL_MS + 1000;

describe('TimeSync', () => {
  it('before any sample: offset 0, not synced, the node’s own clock, no error bound', () => {
    const base = new VirtualClock(1000);
    const sync = new TimeSync(base, () => {});
    expect(sync).toMatchObject({ offsetMs: 0, synced: false, samples: 0, errorMs: Number.POSITIVE_INFINITY });
    expect(sync.referenceNow()).toBe(1000);
  });

  for (const offset of [5000, -5000]) {
    it(`finds an offset of ${offset} ms over symmetric delays, exactly, with error = rtt/2`, () => {
      const base = new VirtualClock(0);
      const node = new DriftClock(base, 0, 0);
      const reference = new DriftClock(base, offset, 0);
      const { sync, errorNow } = drive(
        base,
        node,
        reference,
        () => 10,
        () => 10,
      );
      sync.start();
      base.advance(BURST_MS);
      expect(sync.synced).toBe(true);
      expect(sync.samples).toBe(SYNC_BURST_SAMPLES);
      expect(sync.offsetMs).toBeCloseTo(offset, 6);
      expect(errorNow()).toBeLessThan(1e-6);
      expect(sync.errorMs).toBeGreaterThanOrEqual(10);
      expect(sync.errorMs).toBeLessThan(10.2);
      sync.stop();
    });

    it(`bounds the error by errorMs over asymmetric delays (offset ${offset} ms)`, () => {
      const base = new VirtualClock(0);
      const reference = new DriftClock(base, offset, 0);
      const { sync, errorNow } = drive(
        base,
        base,
        reference,
        () => 30,
        () => 2,
      );
      sync.start();
      base.advance(BURST_MS);
      // The asymmetry is invisible to NTP: the estimate is off by (30 - 2) / 2, within the bound rtt / 2.
      expect(errorNow()).toBeCloseTo(14, 6);
      expect(errorNow()).toBeLessThanOrEqual(sync.errorMs);
      expect(sync.errorMs).toBeLessThan(16.2);
      sync.stop();
    });
  }

  for (const ppm of [100, -100]) {
    it(`tracks a clock drifting ${ppm} ppm within 1 ms over 10 minutes, inside its error bound`, () => {
      const base = new VirtualClock(0);
      const node = new DriftClock(base, -5000, ppm);
      const reference = base;
      const rand = prng(7);
      const jitter = (): number => 0.2 + rand() * 0.1;
      const { sync, errorNow } = drive(base, node, reference, jitter, jitter);
      sync.start();
      base.advance(BURST_MS);
      let worst = 0;
      for (let t = 0; t < 600_000; t += 50) {
        base.advance(50);
        worst = Math.max(worst, errorNow());
        expect(errorNow()).toBeLessThanOrEqual(sync.errorMs + 1e-9);
      }
      expect(worst).toBeLessThan(1);
      // The old samples aged out: drift alone (100 ppm of 10 minutes = 60 ms) would show otherwise.
      expect(sync.samples).toBeLessThanOrEqual(8);
      sync.stop();
    });
  }

  it('two servers 10 s apart, drifting 200 ppm apart, agree within 1 ms for 10 minutes', () => {
    const base = new VirtualClock(0);
    const reference = new DriftClock(base, 1_764_000_000_000, 0);
    const rand = prng(3);
    const path = (): number => 5 + rand() * 0.4; // 5 ms each way, 0.4 ms of jitter
    const a = drive(base, new DriftClock(base, 5000, 100), reference, path, path);
    const b = drive(base, new DriftClock(base, -5000, -100), reference, path, path);
    a.sync.start();
    b.sync.start();
    base.advance(BURST_MS);
    let worst = 0;
    for (let t = 0; t < 600_000; t += 100) {
      base.advance(100);
      worst = Math.max(worst, Math.abs(a.sync.referenceNow() - b.sync.referenceNow()));
    }
    expect(worst).toBeLessThan(1);
    a.sync.stop();
    b.sync.stop();
  });

  it('picks the least round trip under jitter', () => {
    const base = new VirtualClock(0);
    const reference = new DriftClock(base, 1234, 0);
    // Asymmetric jitter of tens of ms, except the 5th request, whose round trip is 2 ms.
    const rand = prng(42);
    const up: Delay = (n) => (n === 4 ? 1 : 20 + rand() * 60);
    const down: Delay = (n) => (n === 4 ? 1 : 1 + rand() * 5);
    const { sync, errorNow } = drive(base, base, reference, up, down);
    sync.start();
    base.advance(BURST_MS);
    expect(errorNow()).toBeLessThan(1e-6);
    expect(sync.errorMs).toBeGreaterThanOrEqual(1);
    expect(sync.errorMs).toBeLessThan(1.2); // 1 ms, plus 100 ppm of its age
    sync.stop();
  });

  it('ignores lost, duplicated, forged, mismatched and absurd answers, counting them', () => {
    const base = new VirtualClock(0);
    const reference = new DriftClock(base, 700, 0);
    const sent: TimeRequest[] = [];
    const sync = new TimeSync(base, (req) => sent.push(req));
    sync.start();
    const first = sent[0]!;
    base.advance(5);
    // Forged: an id never sent; another t0; an answer from the future (negative round trip); not finite.
    sync.reply(999, first.t0, reference.now());
    sync.reply(first.id, first.t0 + 1, reference.now());
    sync.reply(first.id, first.t0, reference.now(), first.t0 - 1);
    sync.reply(first.id, first.t0, Number.NaN);
    expect(sync.counters).toMatchObject({ unknown: 1, absurd: 3, accepted: 0 });
    expect(sync.synced).toBe(false);
    // The genuine answer still counts; its duplicate does not.
    sync.reply(first.id, first.t0, reference.now());
    sync.reply(first.id, first.t0, reference.now() + 50);
    expect(sync.counters).toMatchObject({ accepted: 1, stale: 1 });
    expect(sync.offsetMs).toBeCloseTo(700 + 2.5, 6);
    // The second request is lost: nothing happens; its answer after SYNC_MAX_RTT_MS is stale.
    base.advance(SYNC_BURST_INTERVAL_MS);
    const second = sent[1]!;
    base.advance(SYNC_MAX_RTT_MS + SYNC_INTERVAL_MS);
    sync.reply(second.id, second.t0, reference.now());
    expect(sync.counters.stale).toBe(2);
    expect(sync.samples).toBe(1);
    // The burst is over with one sample: synced on it.
    expect(sync.synced).toBe(true);
    sync.stop();
  });

  it('samples in a burst, then every SYNC_INTERVAL_MS, and not at all once stopped', () => {
    const base = new VirtualClock(0);
    const sent: TimeRequest[] = [];
    const sync = new TimeSync(base, (req) => sent.push(req));
    sync.start();
    sync.start();
    expect(sent).toHaveLength(1);
    base.advance((SYNC_BURST_SAMPLES - 1) * SYNC_BURST_INTERVAL_MS);
    expect(sent).toHaveLength(SYNC_BURST_SAMPLES);
    base.advance(SYNC_INTERVAL_MS * 10);
    expect(sent).toHaveLength(SYNC_BURST_SAMPLES + 10);
    expect(sent.map((r) => r.id)).toEqual(sent.map((_, i) => i + 1));
    expect(sync.counters).toMatchObject({ sent: sent.length, skipped: 0 });
    sync.stop();
    base.advance(60_000);
    expect(sent).toHaveLength(SYNC_BURST_SAMPLES + 10);
  });

  it('a new path (resync): earlier requests are forgotten, a new burst measures it, samples stay', () => {
    const base = new VirtualClock(0);
    const reference = new DriftClock(base, -300, 0);
    const sent: TimeRequest[] = [];
    const sync = new TimeSync(base, (req) => sent.push(req));
    sync.start();
    base.advance(2);
    sync.reply(sent[0]!.id, sent[0]!.t0, reference.now());
    base.advance(2 * SYNC_BURST_INTERVAL_MS);
    expect(sent).toHaveLength(3);
    sync.resync();
    // At once, and then a whole burst again.
    expect(sent).toHaveLength(4);
    base.advance((SYNC_BURST_SAMPLES - 1) * SYNC_BURST_INTERVAL_MS);
    expect(sent).toHaveLength(3 + SYNC_BURST_SAMPLES);
    // Answers on the old path are stale; the sample taken before stays.
    sync.reply(sent[1]!.id, sent[1]!.t0, reference.now());
    sync.reply(sent[2]!.id, sent[2]!.t0, reference.now());
    expect(sync.counters).toMatchObject({ stale: 2, accepted: 1 });
    expect(sync.samples).toBe(1);
    expect(sync.offsetMs).toBeCloseTo(-299, 6);
    sync.stop();
  });

  it('emits change when the estimate moves, and a throwing listener does not break it', () => {
    const base = new VirtualClock(0);
    const reference = new DriftClock(base, 50, 0);
    const { sync } = drive(
      base,
      base,
      reference,
      () => 3,
      () => 1,
    );
    const seen: [number, number][] = [];
    sync.events.on('change', () => {
      throw new Error('listener bug');
    });
    sync.events.on('change', (o, e) => seen.push([o, e]));
    sync.start();
    base.advance(BURST_MS);
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen[0]![0]).toBeCloseTo(51, 6);
    expect(sync.events.listenerErrors).toBe(seen.length);
    sync.stop();
  });

  it('selfReference: the reference itself, offset and error 0', () => {
    const base = new VirtualClock(42);
    expect(selfReference(base)).toMatchObject({ synced: true, offsetMs: 0, errorMs: 0 });
    expect(selfReference(base).now()).toBe(42);
  });
});

/** A node's telemetry in virtual time: events from state changes, report rate and size bounds. */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import {
  decodeTelemetryReport,
  type ReportNeighbour,
  type ReportStream,
  type TelemetryReport,
} from '../../../common/wire/dashboard-api.ts';
import type { ViewerStats } from '../../../common/wire/status-api.ts';
import { diffSamples, EventQueue } from '../../../onode/core/telemetry-events.ts';
import { DEFAULT_TELEMETRY, TelemetryReporter } from '../../../onode/core/telemetry-reporter.ts';

function stream(movie: string, upstream: string | null, downstream: string[] = [], bytes = 0): ReportStream {
  return {
    movie,
    state: 'active',
    upstream,
    downstream,
    clients: 0,
    bytesIn: bytes,
  };
}

function viewer(i: number): ViewerStats {
  return {
    id: `p1/v${i}`,
    pop: 'p1',
    movie: 'm',
    client: `10.0.0.${i}:5000`,
    player: 'oclient',
    startedAt: 0,
    updatedAt: 0,
    state: 'playing',
    startupMs: 100,
    fps: 25,
    bitrateKbps: 800,
    framesReceived: 10,
    framesLost: 0,
    packetsLost: 0,
    fractionLost: 0,
    jitterMs: 1,
    longestStallMs: 0,
    failovers: 0,
  };
}

const ENVELOPE_BYTES = 120;

class FakeNode {
  neighbours: ReportNeighbour[] = [
    { name: 'a', alive: true, rttMs: 2, cut: false },
    { name: 'b', alive: true, rttMs: 4, cut: false },
  ];
  streams: ReportStream[] = [];
  naks = 0;
  switches = 0;
  viewers: ViewerStats[] = [];
  readonly source = {
    neighbours: () => this.neighbours,
    streams: () => this.streams,
    treeCounters: () => ({ naks: this.naks, switches: this.switches }),
    viewers: () => this.viewers,
  };
}

function setup(opts = DEFAULT_TELEMETRY) {
  const clock = new VirtualClock(1000);
  const node = new FakeNode();
  const sent: { at: number; report: TelemetryReport; bytes: number }[] = [];
  const reporter = new TelemetryReporter(
    clock,
    node.source,
    (body) => {
      const d = decodeTelemetryReport(body);
      if (!d.ok) throw new Error(`undecodable report: ${body}`);
      // The line on the wire: the body escaped in an envelope with a MAC (about 120 bytes more).
      const bytes = Buffer.byteLength(body) + ENVELOPE_BYTES;
      sent.push({ at: clock.now(), report: d.value, bytes });
      return bytes;
    },
    opts,
  );
  reporter.start();
  return { clock, node, sent, reporter };
}

describe('diffSamples', () => {
  it('finds link changes, joins, prunes, reroutes, switches and NAKs', () => {
    const prev = {
      at: 0,
      neighbours: [{ name: 'a', alive: true, rttMs: 1, cut: false }],
      streams: [stream('m', 'a', ['x', 'y'])],
      naks: 1,
      switches: 0,
    };
    const next = {
      at: 10,
      neighbours: [{ name: 'a', alive: false, rttMs: null, cut: false }],
      streams: [stream('m', 'b', ['y', 'z']), stream('n', 'b')],
      naks: 4,
      switches: 0,
    };
    expect(diffSamples(prev, next)).toEqual([
      { kind: 'link-down', at: 10, peer: 'a' },
      { kind: 'reroute', at: 10, movie: 'm', from: 'a', to: 'b' },
      { kind: 'join', at: 10, movie: 'm', peer: 'z' },
      { kind: 'prune', at: 10, movie: 'm', peer: 'x' },
      { kind: 'stream-start', at: 10, movie: 'n', to: 'b' },
      { kind: 'nak', at: 10, count: 3 },
    ]);
    expect(diffSamples(next, { ...prev, at: 20, switches: 1, streams: [stream('m', 'a', ['y', 'z'])] })).toEqual([
      { kind: 'link-up', at: 20, peer: 'a' },
      { kind: 'switch', at: 20, movie: 'm', from: 'b', to: 'a' },
      { kind: 'stream-end', at: 20, movie: 'n', from: 'b' },
    ]);
  });

  it('an event queue keeps the newest and counts what it dropped', () => {
    const q = new EventQueue(3);
    q.push([1, 2, 3, 4, 5].map((at) => ({ kind: 'nak' as const, at })));
    expect(q.dropped).toBe(2);
    expect(q.take(2).map((e) => e.at)).toEqual([3, 4]);
    expect(q.take(10).map((e) => e.at)).toEqual([5]);
  });
});

describe('TelemetryReporter', () => {
  it('sends everything first, then nothing while nothing changes, then a full refresh', () => {
    const { clock, sent } = setup();
    clock.advance(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.report.neighbours).toHaveLength(2);
    clock.advance(DEFAULT_TELEMETRY.fullEveryMs - 100);
    expect(sent).toHaveLength(1);
    clock.advance(100);
    expect(sent).toHaveLength(2);
    expect(sent[1]?.report.neighbours).toHaveLength(2);
  });

  it('reports an event within minGapMs, at most 4 reports a second, events timed relative to the report', () => {
    const { clock, node, sent } = setup();
    clock.advance(2000);
    const before = sent.length;
    node.neighbours = [{ name: 'a', alive: false, rttMs: null, cut: false }, node.neighbours[1]!];
    clock.advance(300);
    const r = sent.at(-1)?.report;
    expect(sent.length).toBe(before + 1);
    expect(r?.events).toEqual([{ kind: 'link-down', peer: 'a', agoMs: 0 }]);
    // Only the row that changed.
    expect(r?.neighbours?.map((n) => [n.name, n.alive])).toEqual([['a', false]]);
    // An event every sample for 10 s: never more than 4 reports per second.
    const start = sent.length;
    for (let i = 0; i < 40; i++) {
      node.naks++;
      clock.advance(250);
    }
    expect(sent.length - start).toBeLessThanOrEqual(40);
    const times = sent.slice(start).map((s) => s.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(250);
  });

  it('ignores RTT jitter; a real RTT change rides the next counters refresh, not a report of its own', () => {
    const { clock, node, sent } = setup();
    clock.advance(DEFAULT_TELEMETRY.countersEveryMs);
    const n = sent.length;
    node.neighbours = node.neighbours.map((x) => ({ ...x, rttMs: (x.rttMs ?? 0) * 1.15 }));
    clock.advance(DEFAULT_TELEMETRY.countersEveryMs);
    expect(sent.length).toBe(n);
    node.neighbours = node.neighbours.map((x) => ({ ...x, rttMs: (x.rttMs ?? 0) * 3 }));
    clock.advance(DEFAULT_TELEMETRY.countersEveryMs);
    expect(sent.length).toBe(n + 1);
    expect(sent.at(-1)?.report.neighbours?.[0]?.rttMs).toBeCloseTo(6.9, 1);
  });

  it('sends a link that went down at once, even in debt', () => {
    const { clock, node, sent } = setup({ ...DEFAULT_TELEMETRY, burstBytes: 100 });
    clock.advance(2000);
    const n = sent.length;
    node.neighbours = [{ ...node.neighbours[0]!, alive: false, rttMs: null }, node.neighbours[1]!];
    clock.advance(DEFAULT_TELEMETRY.sampleMs);
    expect(sent.length).toBe(n + 1);
    expect(sent.at(-1)?.report.events?.map((e) => e.kind)).toEqual(['link-down']);
    expect(sent.at(-1)?.report.neighbours?.[0]?.alive).toBe(false);
  });

  it('sends stream counters every countersEveryMs while they move: under 2 kbit/s for a busy relay', () => {
    const { clock, node, sent } = setup();
    let bytes = 0;
    node.streams = [stream('movie-one.mjpeg', 'a', ['b']), stream('movie-two.mjpeg', 'a', ['b'])];
    const t0 = clock.now();
    for (let i = 0; i < 240; i++) {
      bytes += 25_000;
      node.streams = node.streams.map((s) => ({ ...s, bytesIn: bytes }));
      clock.advance(250);
    }
    const seconds = (clock.now() - t0) / 1000;
    const withStreams = sent.filter((s) => s.report.streams !== undefined);
    expect(withStreams.length).toBeGreaterThanOrEqual(seconds / (DEFAULT_TELEMETRY.countersEveryMs / 1000) - 2);
    const total = sent.reduce((n, s) => n + s.bytes, 0);
    expect((total * 8) / 1000 / seconds).toBeLessThan(2);
  });

  it('under sustained churn keeps to its byte budget, summarising events by kind, links and reroutes first', () => {
    const { clock, node, sent, reporter } = setup();
    clock.advance(1000);
    const start = sent.length;
    const t0 = clock.now();
    for (let i = 0; i < 960; i++) {
      // Every sample for 4 minutes: a relay flaps, and ten viewers' branches come and go.
      node.neighbours = node.neighbours.map((n, k) => (k === 0 ? { ...n, alive: !n.alive } : n));
      node.streams = Array.from({ length: 10 }, (_, k) => stream(`m${k}`, 'b', i % 2 === 0 ? ['x', 'y'] : ['z']));
      clock.advance(250);
    }
    const seconds = (clock.now() - t0) / 1000;
    const bytes = sent.slice(start).reduce((n, s) => n + s.bytes, 0);
    const budget = DEFAULT_TELEMETRY.budgetBytesPerSec * seconds + DEFAULT_TELEMETRY.burstBytes;
    // The budget, plus the burst saved up, the 1.5 bursts events may borrow and the report that crosses it.
    expect(bytes).toBeLessThan(budget + 2.5 * DEFAULT_TELEMETRY.burstBytes + 1000);
    expect((bytes * 8) / 1000 / seconds).toBeLessThan(2);
    expect(reporter.counters.summarised).toBeGreaterThan(0);
    const events = sent.slice(start).flatMap((s) => s.report.events ?? []);
    expect(events.some((e) => e.kind === 'join' && e.peer === undefined && (e.count ?? 0) > 1)).toBe(true);
    expect(events.some((e) => e.kind === 'link-down' && e.peer === 'a')).toBe(true);
  });

  it('sends only the streams that changed, names the ones that ended, and marks a full report', () => {
    const { clock, node, sent } = setup();
    node.streams = [stream('m1', 'a', ['b']), stream('m2', 'a')];
    clock.advance(1000);
    expect(sent[0]?.report.full).toBe(true);
    node.streams = [stream('m1', 'a', ['b']), stream('m2', 'a', ['b'])];
    clock.advance(DEFAULT_TELEMETRY.sampleMs);
    expect(sent.at(-1)?.report.full).toBeUndefined();
    expect(sent.at(-1)?.report.streams?.map((x) => x.movie)).toEqual(['m2']);
    node.streams = [stream('m2', 'a', ['b'])];
    clock.advance(DEFAULT_TELEMETRY.sampleMs);
    expect(sent.at(-1)?.report.streamsEnded).toEqual(['m1']);
    expect(sent.at(-1)?.report.streams).toBeUndefined();
  });

  it('a row trimmed away to fit is sent in a later report', () => {
    const { clock, node, sent } = setup({ ...DEFAULT_TELEMETRY, maxBodyBytes: 600 });
    node.viewers = Array.from({ length: 100 }, (_, i) => viewer(i));
    for (let i = 0; i < 40; i++) clock.advance(DEFAULT_TELEMETRY.sampleMs);
    const ids = new Set(sent.flatMap((s) => s.report.viewers ?? []).map((v) => v.id));
    expect(ids.size).toBe(100);
  });

  it('trims a report to fit maxBodyBytes and counts it', () => {
    const { clock, node, sent, reporter } = setup({ ...DEFAULT_TELEMETRY, maxBodyBytes: 600 });
    node.viewers = Array.from({ length: 100 }, (_, i) => viewer(i));
    clock.advance(0);
    const r = sent.at(-1);
    expect(r?.report.viewers?.length).toBeGreaterThan(0);
    expect(r?.report.viewers?.length).toBeLessThan(100);
    expect(r?.bytes).toBeLessThanOrEqual(600 + ENVELOPE_BYTES);
    expect(reporter.counters.trimmed).toBeGreaterThan(0);
  });

  it('stop() cancels its timer; resync() resends everything', () => {
    const { clock, sent, reporter } = setup();
    clock.advance(1000);
    reporter.resync();
    clock.advance(250);
    expect(sent.at(-1)?.report.neighbours).toHaveLength(2);
    // The first report says what reporting has cost so far (nothing sent yet).
    expect(sent[0]?.report.cost).toEqual({ sentBytes: 0, busyMs: 0 });
    reporter.stop();
    const n = sent.length;
    clock.advance(60_000);
    expect(sent.length).toBe(n);
    expect(clock.pending()).toBe(0);
  });
});

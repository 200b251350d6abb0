/**
 * The daemons' telemetry on a quiet node (issue 13): sampled once a second while nothing happens,
 * yet a link going down or a stream joining reaches the dashboard at once (the node pokes the
 * reporter), and anything else within a second.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import { decodeTelemetryReport, type ReportNeighbour, type ReportStream } from '../../../common/wire/dashboard-api.ts';
import { DAEMON_TELEMETRY, TelemetryReporter } from '../../../onode/core/telemetry-reporter.ts';
import { fakeMovie, SimNetwork } from '../../../onode/sim/sim-network.ts';

const IDLE_MS = DAEMON_TELEMETRY.idleSampleMs ?? 0;

function setup() {
  const clock = new VirtualClock(1000);
  let samples = 0;
  const node = {
    neighbours: [
      { name: 'a', alive: true, rttMs: 2, cut: false },
      { name: 'b', alive: true, rttMs: 4, cut: false },
    ] as ReportNeighbour[],
    streams: [] as ReportStream[],
  };
  const sent: { at: number; kinds: string[] }[] = [];
  const reporter = new TelemetryReporter(
    clock,
    {
      neighbours: () => {
        samples++;
        return node.neighbours;
      },
      streams: () => node.streams,
      treeCounters: () => ({ naks: 0, switches: 0 }),
      viewers: () => [],
    },
    (body) => {
      const d = decodeTelemetryReport(body);
      if (!d.ok) throw new Error(`undecodable report: ${body}`);
      sent.push({ at: clock.now(), kinds: (d.value.events ?? []).map((e) => e.kind) });
      return Buffer.byteLength(body) + 120;
    },
    DAEMON_TELEMETRY,
  );
  reporter.start();
  return { clock, node, sent, reporter, samples: () => samples };
}

const down = (n: ReportNeighbour): ReportNeighbour => ({ ...n, alive: false, rttMs: null });

describe('TelemetryReporter on a quiet daemon', () => {
  it('samples a quiet node once per idleSampleMs, not every sampleMs', () => {
    const s = setup();
    s.clock.advance(3000);
    const n0 = s.samples();
    s.clock.advance(10_000);
    expect(IDLE_MS).toBeGreaterThan(DAEMON_TELEMETRY.sampleMs);
    expect(s.samples() - n0).toBeLessThanOrEqual(10_000 / IDLE_MS + 1);
  });

  it('reports a link that went down at once when poked', () => {
    const s = setup();
    s.clock.advance(3000 + IDLE_MS / 3);
    const at = s.clock.now();
    s.node.neighbours = [down(s.node.neighbours[0]!), s.node.neighbours[1]!];
    s.reporter.poke();
    s.clock.advance(0);
    expect(s.sent.at(-1)).toEqual({ at, kinds: ['link-down'] });
  });

  it('reports a change nobody poked about within a second', () => {
    const s = setup();
    s.clock.advance(3000 + IDLE_MS / 3);
    const at = s.clock.now();
    s.node.neighbours = [down(s.node.neighbours[0]!), s.node.neighbours[1]!];
    s.clock.advance(1000);
    const r = s.sent.find((x) => x.kinds.includes('link-down'));
    expect(r).toBeDefined();
    expect(r!.at - at).toBeLessThanOrEqual(1000);
  });

  it('samples every sampleMs while the node carries a stream, so joins and prunes below go within it', () => {
    const s = setup();
    s.clock.advance(3000);
    s.node.streams = [{ movie: 'm', state: 'active', upstream: 'a', downstream: [], clients: 0, bytesIn: 0 }];
    s.reporter.poke();
    s.clock.advance(1000);
    const n0 = s.samples();
    s.clock.advance(2000);
    expect(s.samples() - n0).toBeGreaterThanOrEqual(2000 / DAEMON_TELEMETRY.sampleMs);
    const at = s.clock.now();
    s.node.streams = [{ ...s.node.streams[0]!, downstream: ['b'] }];
    s.clock.advance(DAEMON_TELEMETRY.sampleMs);
    const r = s.sent.find((x) => x.kinds.includes('join'));
    expect(r!.at - at).toBeLessThanOrEqual(DAEMON_TELEMETRY.sampleMs);
    // The stream ends: after one more sample the node is quiet again.
    s.node.streams = [];
    s.clock.advance(2000);
    const n1 = s.samples();
    s.clock.advance(5000);
    expect(s.samples() - n1).toBeLessThanOrEqual(5000 / IDLE_MS + 1);
  });

  it('a poke while stopped or already sampling soon does nothing', () => {
    const s = setup();
    s.clock.advance(3000);
    s.reporter.stop();
    s.reporter.poke();
    const n0 = s.samples();
    s.clock.advance(5000);
    expect(s.samples()).toBe(n0);
  });
});

describe('OverlayNode.onShapeChange', () => {
  it('fires when a link comes up or goes down and when a stream joins across a link', () => {
    const net = new SimNetwork();
    net.addNode('s', [fakeMovie('m')]);
    net.addNode('r');
    net.addNode('p');
    net.addLink('s', 'r', 2);
    net.addLink('r', 'p', 2);
    const calls = { s: 0, r: 0, p: 0 };
    for (const n of ['s', 'r', 'p'] as const) net.node(n).onShapeChange = () => calls[n]++;
    net.start();
    net.run(3000);
    // Each link came up once at each end.
    expect(calls).toEqual({ s: 1, r: 2, p: 1 });
    net.watch('p', 'm');
    net.run(500);
    expect(calls.s).toBeGreaterThan(1);
    expect(calls.r).toBeGreaterThan(2);
    const r0 = calls.r;
    net.link('s', 'r')!.up = false;
    net.run(5000);
    expect(net.node('r').links.isAlive('s')).toBe(false);
    expect(calls.r).toBeGreaterThan(r0);
  });
});

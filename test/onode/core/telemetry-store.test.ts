/** The bootstrapper's telemetry store: trees, link traffic from counter deltas, dead links, events, viewers. */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import { MAX_REPORT_STREAMS, type ReportStream, type TelemetryReport } from '../../../common/wire/dashboard-api.ts';
import { MAX_TIMELINE, TelemetryStore } from '../../../onode/core/telemetry-store.ts';

//   s ── r ── p        (s is the bootstrapper)
const TOPO = {
  bootstrapper: 's',
  nodes: [
    { name: 's', role: 'server' as const },
    { name: 'r', role: 'node' as const },
    { name: 'p', role: 'pop' as const },
  ],
  links: [
    { a: 's', b: 'r' },
    { a: 'r', b: 'p' },
  ],
};

function stream(upstream: string | null, downstream: string[], bytesIn: number, clients = 0): ReportStream {
  return {
    movie: 'm',
    state: 'active',
    upstream,
    downstream,
    clients,
    bytesIn,
  };
}

function report(at: number, more: Partial<TelemetryReport> = {}): TelemetryReport {
  return { at, events: [], droppedEvents: 0, ...more };
}

const VIEWER = {
  id: 'p/1',
  pop: 'p',
  movie: 'm',
  client: '10.0.0.1:1',
  player: 'oclient' as const,
  startedAt: 0,
  updatedAt: 0,
  state: 'playing' as const,
  startupMs: 80,
  fps: 25,
  bitrateKbps: 700,
  framesReceived: 5,
  framesLost: 0,
  packetsLost: 0,
  fractionLost: 0,
  jitterMs: null,
  longestStallMs: 0,
  failovers: 0,
};

function setup() {
  const clock = new VirtualClock();
  let wall = 1_000_000;
  const store = new TelemetryStore(TOPO, clock, () => wall);
  const tick = (ms: number) => {
    clock.advance(ms);
    wall += ms;
  };
  store.membership('r', 'registered');
  store.membership('p', 'registered');
  const alive = (name: string) => ({ name, alive: true, rttMs: 3, cut: false });
  store.ingest('s', report(0, { neighbours: [alive('r')], streams: [stream(null, ['r'], 0)] }));
  store.ingest('r', report(0, { neighbours: [alive('s'), alive('p')], streams: [stream('s', ['p'], 0)] }));
  store.ingest('p', report(0, { neighbours: [alive('r')], streams: [stream('r', [], 0, 1)] }));
  return { store, tick };
}

describe('TelemetryStore', () => {
  it('builds the movie tree with its server and the link traffic from counter deltas', () => {
    const { store, tick } = setup();
    tick(1000);
    store.ingest('r', report(1000, { streams: [stream('s', ['p'], 125_000)] }));
    store.ingest('p', report(1000, { streams: [stream('r', [], 100_000, 1)] }));
    const st = store.state();
    expect(st.movies).toEqual([
      {
        movie: 'm',
        server: 's',
        edges: [
          { from: 's', to: 'r', kbps: 1000 },
          { from: 'r', to: 'p', kbps: 800 },
        ],
        pops: ['p'],
      },
    ]);
    expect(st.links).toEqual([
      { a: 's', b: 'r', rttMs: 3, alive: true, cut: false, kbps: 1000 },
      { a: 'r', b: 'p', rttMs: 3, alive: true, cut: false, kbps: 800 },
    ]);
    expect(st.nodes.map((n) => [n.name, n.registered, n.reportAgoMs])).toEqual([
      ['s', true, 1000],
      ['r', true, 0],
      ['p', true, 0],
    ]);
    // r restarts and registers again before its old connection is seen closed: its new clock
    // starts near 0, and its rates start over instead of freezing at the old process's.
    store.membership('r', 'registered');
    store.ingest('r', report(10, { streams: [stream('s', ['p'], 0)] }));
    tick(1000);
    store.ingest('r', report(1010, { streams: [stream('s', ['p'], 62_500)] }));
    expect(store.state().links.find((l) => l.b === 'r')?.kbps).toBe(500);
  });

  it('a node gone takes its edges with it, its links are dead, events are timed by the report', () => {
    const { store, tick } = setup();
    const v0 = store.version;
    tick(500);
    store.membership('r', 'gone');
    store.ingest('p', report(500, { events: [{ kind: 'link-down', agoMs: 200, peer: 'r' }] }));
    const st = store.state();
    expect(store.version).toBeGreaterThan(v0);
    expect(st.movies[0]?.edges).toEqual([]);
    expect(st.links.every((l) => !l.alive)).toBe(true);
    expect(st.events.slice(-2)).toMatchObject([
      { node: 'r', kind: 'gone', at: 1_000_500 },
      { node: 'p', kind: 'link-down', peer: 'r', at: 1_000_300 },
    ]);
  });

  it('keeps MAX_TIMELINE events, lists every POP’s viewers, a failover is an event', () => {
    const { store } = setup();
    for (let i = 0; i < MAX_TIMELINE + 10; i++) store.ingest('p', report(i, { events: [{ kind: 'nak', agoMs: 0 }] }));
    expect(store.counters.eventsDropped).toBeGreaterThanOrEqual(10);
    const viewer = VIEWER;
    store.ingest('p', report(1, { viewers: [viewer] }));
    store.ingest('p', report(2, { viewers: [{ ...viewer, failovers: 1 }] }));
    expect(store.viewers().viewers).toHaveLength(1);
    expect(store.state().events.at(-1)).toMatchObject({ kind: 'failover', node: 'p', peer: 'p/1', count: 1 });
    store.ingest('nobody', report(3));
    expect(store.counters.unknownNodes).toBe(1);
    // A node lists only its own viewers, and only a POP has any: forged rows are dropped.
    store.ingest('r', report(4, { viewers: [{ ...viewer, id: 'r/1', pop: 'r' }] }));
    store.ingest('p', report(5, { viewers: [viewer, { ...viewer, id: 'q/1', pop: 'q' }] }));
    expect(store.viewers().viewers.map((v) => v.id)).toEqual(['p/1']);
  });

  it('merges changed rows, drops ended streams and gone viewers, and a full report replaces everything', () => {
    const { store } = setup();
    const other = { ...stream('s', [], 0), movie: 'n' };
    store.ingest('r', report(1, { streams: [other] }));
    // 'm' unchanged (not in the report) stays; 'n' is added.
    expect(store.state().movies.map((t) => [t.movie, t.edges.map((e) => `${e.from}>${e.to}`)])).toEqual([
      ['m', ['s>r', 'r>p']],
      ['n', ['s>r']],
    ]);
    store.ingest('r', report(2, { streamsEnded: ['m'] }));
    expect(store.state().movies.map((t) => [t.movie, t.edges.map((e) => `${e.from}>${e.to}`)])).toEqual([
      ['m', ['r>p']],
      ['n', ['s>r']],
    ]);
    // Only the neighbour that changed is in the report; the other keeps its row.
    store.ingest('r', report(3, { neighbours: [{ name: 'p', alive: false, rttMs: null, cut: false }] }));
    const link = (a: string, b: string) => store.state().links.find((l) => l.a === a && l.b === b);
    expect(link('s', 'r')?.alive).toBe(true);
    expect(link('r', 'p')?.alive).toBe(false);
    // A full report is all the node has: its 'n' stream and its link to s are gone with it.
    store.ingest('r', report(4, { full: true, neighbours: [{ name: 'p', alive: true, rttMs: 2, cut: false }] }));
    expect(store.state().movies.map((t) => [t.movie, t.edges.length])).toEqual([['m', 1]]);
    expect(link('s', 'r')?.alive).toBe(true); // s's own side still says alive
    expect(link('r', 'p')?.alive).toBe(true);
  });

  it('a viewer reported gone leaves the list', () => {
    const { store } = setup();
    const viewer = VIEWER;
    store.ingest('p', report(1, { viewers: [viewer, { ...viewer, id: 'p/2' }] }));
    store.ingest('p', report(2, { viewersGone: ['p/1'] }));
    expect(store.viewers().viewers.map((v) => v.id)).toEqual(['p/2']);
  });

  it('a node cannot grow its rows past one report bound by sending new ones in many reports', () => {
    const { store } = setup();
    for (let k = 0; k < 3; k++) {
      const streams = Array.from({ length: MAX_REPORT_STREAMS }, (_, i) => ({
        ...stream('s', [], 0),
        movie: `m${k}-${i}`,
      }));
      store.ingest('r', report(k + 1, { streams }));
    }
    const carried = store.state().movies.filter((t) => t.edges.some((e) => e.to === 'r')).length;
    expect(carried).toBe(MAX_REPORT_STREAMS);
    expect(store.counters.rowsRefused).toBe(2 * MAX_REPORT_STREAMS + 1);
  });
});

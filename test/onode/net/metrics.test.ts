/**
 * NodeMetrics on a made-up report: every metric family in the text, values taken from the
 * report (ms turned into seconds), series that vanish from the report vanish from the scrape,
 * the cardinality bounds, and `promtool check metrics` accepting the text. No sockets.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { StatusReport, ViewerStats } from '../../../common/wire/status-api.ts';
import { METRICS_BUILDS_PER_WINDOW, NodeMetrics } from '../../../onode/net/metrics.ts';
import { MAX_EXPORTED_STREAMS } from '../../../onode/net/metrics-snapshot.ts';
import { NODE_METRICS } from '../../../onode/net/metrics-node.ts';
import { POP_METRICS } from '../../../onode/net/metrics-pop.ts';
import { MAX_EXPORTED_VIEWERS, VIEWER_METRICS } from '../../../onode/net/metrics-viewers.ts';
import { promtoolProblems } from './promtool.ts';

function stream(movie: string, packetsOut = 10): NonNullable<StatusReport['streams']>[number] {
  return {
    movie,
    state: 'active',
    upstream: 'o2',
    rootPath: ['s1', 'o2'],
    downstream: ['o4'],
    clients: ['127.0.6.20:5000'],
    packetsIn: 12,
    bytesIn: 12000,
    packetsOut,
    bytesOut: 9000,
    strayPackets: 0,
    duplicates: 1,
    repaired: 2,
  };
}

function popReport(streams = [stream('bars.mjpeg')]): StatusReport {
  return {
    name: 'o5',
    role: 'pop',
    pid: 1,
    uptimeSec: 42,
    neighbours: [
      { name: 'o2', address: '127.0.0.2', alive: true, rttMs: 12.5, failures: 1 },
      { name: 'o3', address: '127.0.0.3', alive: false, rttMs: null, failures: 0 },
    ],
    routes: [{ server: 's1', via: 'o2', latencyMs: 20, hops: 2 }],
    streams,
    faults: { cut: ['o3'] },
    sessions: [
      {
        viewer: 'v1',
        movie: 'bars.mjpeg',
        client: '127.0.6.20:5000',
        transport: 'udp',
        state: 'playing',
        packets: 5,
        retransmitted: 0,
        packetsDropped: 0,
        framesDropped: 0,
      },
    ],
    counters: {
      transport: {
        datagramsIn: 100,
        datagramsOut: 90,
        bytesIn: 1e5,
        bytesOut: 9e4,
        badMac: 3,
        replayed: 4,
        malformed: 5,
      },
      tree: { reroutes: 2, switches: 1, repairsRequested: 7, repairsServed: 6, prunes: 0 },
      rtsp: { connections: { open: 1 }, sessionsOpened: 3, sessionsReaped: 1, nacks: 2 },
      verify: { verified: 50, rejected: 1 },
      ops: { requests: 9 },
    },
  };
}

function viewerRow(id: string, fps: number | null = 24.5): ViewerStats {
  return {
    id,
    pop: 'o5',
    movie: 'bars.mjpeg',
    client: '127.0.6.20:5000',
    player: 'oclient',
    startedAt: 0,
    updatedAt: 1,
    state: 'playing',
    startupMs: 350,
    fps,
    bitrateKbps: 800,
    framesReceived: 240,
    framesLost: 3,
    packetsLost: 4,
    fractionLost: 0.01,
    jitterMs: 2,
    longestStallMs: 1500,
    failovers: 1,
  };
}

/** The value of the series `name{labels}` in exposition text (labels as written, in order). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('NodeMetrics', () => {
  it('exports the report: streams, links, routes, recovery, drops, RTSP and viewers, in seconds', async () => {
    let now = 0;
    const m = new NodeMetrics({
      node: 'o5',
      role: 'pop',
      report: () => popReport(),
      viewers: () => [viewerRow('o5/v1')],
      now: () => (now += 1000),
    });
    const text = await m.text();
    const L = 'node="o5",role="pop"';
    expect(value(text, `onode_stream_packets_out_total{movie="bars.mjpeg",${L}}`)).toBe(10);
    expect(value(text, `onode_stream_bytes_in_total{movie="bars.mjpeg",${L}}`)).toBe(12000);
    expect(value(text, `onode_link_rtt_seconds{neighbour="o2",${L}}`)).toBe(0.0125);
    expect(text).not.toContain('onode_link_rtt_seconds{neighbour="o3"');
    expect(value(text, `onode_link_up{neighbour="o3",${L}}`)).toBe(0);
    expect(value(text, `onode_link_cut{neighbour="o3",${L}}`)).toBe(1);
    expect(value(text, `onode_route_latency_seconds{server="s1",via="o2",${L}}`)).toBe(0.02);
    expect(value(text, `onode_tree_reroutes_total{${L}}`)).toBe(2);
    expect(value(text, `onode_repairs_served_total{${L}}`)).toBe(6);
    expect(value(text, `onode_transport_dropped_datagrams_total{reason="bad_mac",${L}}`)).toBe(3);
    expect(value(text, `onode_transport_dropped_datagrams_total{reason="replayed",${L}}`)).toBe(4);
    expect(value(text, `onode_rtsp_sessions{${L}}`)).toBe(1);
    const S = `viewer="v1",movie="bars.mjpeg",transport="udp",${L}`;
    expect(value(text, `onode_rtsp_session_packets_sent_total{${S}}`)).toBe(5);
    expect(value(text, `onode_rtsp_sessions_ended_total{reason="timeout",${L}}`)).toBe(1);
    expect(value(text, `onode_verify_packets_total{result="verified",${L}}`)).toBe(50);
    const V = `viewer="v1",movie="bars.mjpeg",player="oclient",${L}`;
    expect(value(text, `onode_viewer_fps{${V}}`)).toBe(24.5);
    expect(value(text, `onode_viewer_frames_lost_total{${V}}`)).toBe(3);
    expect(value(text, `onode_viewer_stall_longest_seconds{${V}}`)).toBe(1.5);
    expect(value(text, `onode_viewer_received_bytes_per_second{${V}}`)).toBe(100_000);
    expect(promtoolProblems(text)).toBe('');
  });

  it('drops series that left the report, and takes counters as they are now', async () => {
    let report = popReport([stream('a.mjpeg', 5), stream('b.mjpeg', 7)]);
    let now = 0;
    const m = new NodeMetrics({ node: 'o5', role: 'pop', report: () => report, now: () => (now += 1000) });
    const first = await m.text();
    expect(value(first, 'onode_stream_packets_out_total{movie="b.mjpeg",node="o5",role="pop"}')).toBe(7);
    report = popReport([stream('a.mjpeg', 9)]);
    const second = await m.text();
    expect(value(second, 'onode_stream_packets_out_total{movie="a.mjpeg",node="o5",role="pop"}')).toBe(9);
    expect(second).not.toContain('movie="b.mjpeg"');
  });

  it('bounds the series: streams and viewers past the limits are counted, not exported', async () => {
    const streams = Array.from({ length: MAX_EXPORTED_STREAMS + 5 }, (_, i) => stream(`m${i}.mjpeg`));
    const viewers = Array.from({ length: MAX_EXPORTED_VIEWERS + 3 }, (_, i) => viewerRow(`o5/v${i}`));
    const m = new NodeMetrics({ node: 'o5', role: 'pop', report: () => popReport(streams), viewers: () => viewers });
    const text = await m.text();
    const count = (prefix: string): number => text.split('\n').filter((l) => l.startsWith(prefix)).length;
    expect(count('onode_stream_packets_out_total{')).toBe(MAX_EXPORTED_STREAMS);
    expect(count('onode_viewer_fps{')).toBe(MAX_EXPORTED_VIEWERS);
    expect(value(text, 'onode_metrics_omitted_series{family="stream",node="o5",role="pop"}')).toBe(5);
    expect(value(text, 'onode_metrics_omitted_series{family="viewer",node="o5",role="pop"}')).toBe(3);
    expect(promtoolProblems(text)).toBe('');
  });

  it('a relay has no RTSP or viewer series, and a starting node no stream series', async () => {
    const relay = new NodeMetrics({
      node: 'o2',
      role: 'node',
      report: () => ({ name: null, role: 'node', pid: 1, state: 'starting' }),
    });
    const text = await relay.text();
    expect(text).not.toMatch(/^onode_rtsp_sessions[{ ]/m);
    expect(text).not.toMatch(/^onode_viewer_fps\{/m);
    expect(text).not.toMatch(/^onode_stream_packets_in_total\{/m);
    expect(promtoolProblems(text)).toBe('');
  });

  it('within the scrape budget each scrape is fresh; past it, the last text is served', async () => {
    let packets = 0;
    const m = new NodeMetrics({
      node: 'o5',
      role: 'pop',
      report: () => popReport([stream('a.mjpeg', ++packets)]),
      now: () => 0,
    });
    const texts: string[] = [];
    for (let i = 0; i < 8; i++) texts.push(await m.text());
    const outs = texts.map((t) => value(t, 'onode_stream_packets_out_total{movie="a.mjpeg",node="o5",role="pop"}'));
    expect(outs).toEqual([1, 2, 2, 2, 2, 2, 2, 2]);
    expect(METRICS_BUILDS_PER_WINDOW).toBe(2);
  });

  it('the README documents every metric with its type and labels', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const m of [...NODE_METRICS, ...POP_METRICS, ...VIEWER_METRICS]) {
      expect(readme, m.name).toContain(`| \`${m.name}\` | ${m.type} | ${m.labels.join(', ') || '—'} |`);
    }
  });
});

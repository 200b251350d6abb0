/**
 * The metrics of every node, read from its GET /status report at scrape time: streams, links,
 * routes, tree recovery, transport drops, the bootstrapper's desk. Names follow Prometheus
 * conventions: `onode_` prefix, base units (seconds, bytes), `_total` on counters. The registry
 * adds the labels node and role to every series; POPs add metrics-pop.ts.
 */
import type { StreamStatus } from '../../common/wire/status-api.ts';
import { perItem, seconds, single } from './metric-spec.ts';
import { byReason, counted, type Spec } from './metrics-snapshot.ts';

function stream(name: string, help: string, value: (st: StreamStatus) => number, type: 'counter' | 'gauge'): Spec {
  return perItem(
    type,
    name,
    help,
    ['movie'],
    (s) => s.streams,
    (st) => ({ movie: st.movie }),
    value,
  );
}

/** Datagrams the overlay transport dropped, by the reason it counts them under. */
const TRANSPORT_DROPS: readonly (readonly [reason: string, counter: string])[] = [
  ['malformed', 'malformed'],
  ['unknown_sender', 'unknownSender'],
  ['wrong_source', 'wrongSource'],
  ['bad_mac', 'badMac'],
  ['replayed', 'replayed'],
  ['unknown_stream', 'unknownStream'],
  ['emulated_loss', 'emulatedLoss'],
  ['fault_cut', 'faultDrops'],
  ['ping_over_budget', 'pingsDropped'],
  ['oversize', 'oversize'],
];

export const NODE_METRICS: readonly Spec[] = [
  single('gauge', 'onode_uptime_seconds', 'Seconds since the node process started.', (s) => s.report.uptimeSec),
  // Streams, by movie.
  stream('onode_stream_packets_in_total', 'RTP packets of the movie received.', (st) => st.packetsIn, 'counter'),
  stream('onode_stream_bytes_in_total', 'RTP bytes of the movie received.', (st) => st.bytesIn, 'counter'),
  stream(
    'onode_stream_packets_out_total',
    'RTP packets of the movie sent to downstream nodes (to viewers: onode_rtsp_session_*).',
    (st) => st.packetsOut,
    'counter',
  ),
  stream('onode_stream_bytes_out_total', 'RTP bytes of the movie sent.', (st) => st.bytesOut, 'counter'),
  stream('onode_stream_duplicate_packets_total', 'Duplicate packets dropped.', (st) => st.duplicates, 'counter'),
  stream('onode_stream_repaired_packets_total', 'Lost packets recovered by repair.', (st) => st.repaired, 'counter'),
  stream(
    'onode_stream_stray_packets_total',
    'Packets from a neighbour that is not the upstream.',
    (st) => st.strayPackets,
    'counter',
  ),
  stream(
    'onode_stream_downstream_links',
    'Neighbours this node feeds the movie to.',
    (st) => st.downstream.length,
    'gauge',
  ),
  stream('onode_stream_local_viewers', 'Viewers of the movie at this node.', (st) => st.clients.length, 'gauge'),
  perItem(
    'gauge',
    'onode_stream_info',
    'Always 1: the movie stream, its state and upstream neighbour ("" at its server).',
    ['movie', 'state', 'upstream'],
    (s) => s.streams,
    (st) => ({ movie: st.movie, state: st.state, upstream: st.upstream ?? '' }),
    () => 1,
  ),
  // Links, by neighbour.
  perItem(
    'gauge',
    'onode_link_up',
    '1 while the link to the neighbour is alive (hellos answered), else 0.',
    ['neighbour'],
    (s) => s.neighbours,
    (n) => ({ neighbour: n.name }),
    (n) => (n.alive ? 1 : 0),
  ),
  perItem(
    'gauge',
    'onode_link_rtt_seconds',
    'Smoothed round-trip time to the neighbour (absent until measured).',
    ['neighbour'],
    (s) => s.neighbours,
    (n) => ({ neighbour: n.name }),
    (n) => seconds(n.rttMs),
  ),
  perItem(
    'counter',
    'onode_link_failures_total',
    'Times the link to the neighbour was declared dead.',
    ['neighbour'],
    (s) => s.neighbours,
    (n) => ({ neighbour: n.name }),
    (n) => n.failures,
  ),
  perItem(
    'gauge',
    'onode_link_cut',
    '1 while the link is cut by fault injection (onode fault).',
    ['neighbour'],
    (s) => s.neighbours.map((n) => ({ name: n.name, cut: (s.report.faults?.cut ?? []).includes(n.name) })),
    (n) => ({ neighbour: n.name }),
    (n) => (n.cut ? 1 : 0),
  ),
  // Routes, by server.
  perItem(
    'gauge',
    'onode_route_latency_seconds',
    'Latency of the best route to the server, through the neighbour `via`.',
    ['server', 'via'],
    (s) => s.routes,
    (r) => ({ server: r.server, via: r.via }),
    (r) => seconds(r.latencyMs),
  ),
  perItem(
    'gauge',
    'onode_route_hops',
    'Overlay hops of the best route to the server.',
    ['server', 'via'],
    (s) => s.routes,
    (r) => ({ server: r.server, via: r.via }),
    (r) => r.hops,
  ),
  // Trees and recovery.
  single(
    'counter',
    'onode_tree_reroutes_total',
    'Upstreams replaced after a failure (failovers).',
    counted('tree', 'reroutes'),
  ),
  single(
    'counter',
    'onode_tree_switches_total',
    'Upstreams changed to a better path before the old one broke.',
    counted('tree', 'switches'),
  ),
  single('counter', 'onode_tree_joins_sent_total', 'Tree joins sent upstream.', counted('tree', 'joinsSent')),
  single('counter', 'onode_tree_joins_received_total', 'Tree joins received.', counted('tree', 'joinsReceived')),
  single('counter', 'onode_tree_prunes_total', 'Tree branches pruned.', counted('tree', 'prunes')),
  single(
    'counter',
    'onode_tree_naks_sent_total',
    'Negative acknowledgements sent upstream.',
    counted('tree', 'naksSent'),
  ),
  single(
    'counter',
    'onode_tree_naks_received_total',
    'Negative acknowledgements received.',
    counted('tree', 'naksReceived'),
  ),
  single('counter', 'onode_repairs_requested_total', 'Packet repairs asked for.', counted('tree', 'repairsRequested')),
  single(
    'counter',
    'onode_repairs_served_total',
    'Packet repairs served from the cache.',
    counted('tree', 'repairsServed'),
  ),
  // The overlay transport.
  single(
    'counter',
    'onode_transport_datagrams_in_total',
    'Overlay datagrams received.',
    counted('transport', 'datagramsIn'),
  ),
  single(
    'counter',
    'onode_transport_datagrams_out_total',
    'Overlay datagrams sent.',
    counted('transport', 'datagramsOut'),
  ),
  single('counter', 'onode_transport_bytes_in_total', 'Overlay bytes received.', counted('transport', 'bytesIn')),
  single('counter', 'onode_transport_bytes_out_total', 'Overlay bytes sent.', counted('transport', 'bytesOut')),
  single(
    'counter',
    'onode_transport_send_errors_total',
    'Failed overlay sends seen.',
    counted('transport', 'sendErrors'),
  ),
  byReason(
    'onode_transport_dropped_datagrams_total',
    'Overlay datagrams dropped (or not sent), by reason.',
    'reason',
    TRANSPORT_DROPS,
    (s, c) => s.report.counters?.transport?.[c],
  ),
  // The bootstrapper.
  single('gauge', 'onode_bootstrapper_registered_nodes', 'Nodes registered (the bootstrapper only).', (s) =>
    s.report.registered === undefined ? null : s.report.registered.length,
  ),
  single('counter', 'onode_http_requests_total', 'Requests to the status port.', counted('ops', 'requests')),
  perItem(
    'gauge',
    'onode_metrics_omitted_series',
    'Series left out of this scrape for the cardinality bounds, by family.',
    ['family'],
    (s) => Object.entries(s.omitted),
    ([family]) => ({ family }),
    ([, n]) => n,
  ),
];

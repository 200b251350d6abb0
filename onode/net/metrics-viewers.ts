/**
 * Viewer QoE on a POP, one series per viewer (label viewer: the POP's "POP/label" id, never a
 * session id), read at scrape time from the POP's viewer table. Values a player does not report
 * (RTSP players other than oclient give fewer) have no series.
 */
import type { ViewerStats } from '../../common/wire/status-api.ts';
import { type MetricSpec, perItem, seconds } from './metric-spec.ts';

/**
 * Viewers exported per scrape at most (the POP's own table is bounded too): a POP with more
 * counts the rest in onode_metrics_omitted_series{family="viewer"}. Playing viewers come first.
 */
export const MAX_EXPORTED_VIEWERS = 128;

export interface ViewersSnapshot {
  readonly viewers: readonly ViewerStats[];
  readonly omitted: number;
}

const RANK = { playing: 0, paused: 1, gone: 2 } as const;

export function viewersSnapshot(all: readonly ViewerStats[]): ViewersSnapshot {
  const viewers =
    all.length <= MAX_EXPORTED_VIEWERS
      ? all
      : [...all].sort((a, b) => RANK[a.state] - RANK[b.state]).slice(0, MAX_EXPORTED_VIEWERS);
  return { viewers, omitted: all.length - viewers.length };
}

function viewer(
  type: 'counter' | 'gauge',
  name: string,
  help: string,
  value: (v: ViewerStats) => number | null,
): MetricSpec<ViewersSnapshot> {
  return perItem(
    type,
    name,
    help,
    ['viewer', 'movie', 'player'],
    (s) => s.viewers,
    // The session's label ("v3", the row id without "POP/"): the same as onode_rtsp_session_*'s, so
    // the two families join on node and viewer (the registry labels the node).
    (v) => ({
      viewer: v.id.startsWith(`${v.pop}/`) ? v.id.slice(v.pop.length + 1) : v.id,
      movie: v.movie,
      player: v.player,
    }),
    value,
  );
}

export const VIEWER_METRICS: readonly MetricSpec<ViewersSnapshot>[] = [
  viewer('gauge', 'onode_viewer_playing', '1 while the viewer plays, 0 paused or gone.', (v) =>
    v.state === 'playing' ? 1 : 0,
  ),
  viewer('gauge', 'onode_viewer_startup_seconds', 'From PLAY to the first frame shown.', (v) => seconds(v.startupMs)),
  viewer('gauge', 'onode_viewer_fps', 'Frames per second the viewer shows.', (v) => v.fps),
  viewer('gauge', 'onode_viewer_received_bytes_per_second', 'Rate the viewer receives the stream at.', (v) =>
    v.bitrateKbps === null ? null : (v.bitrateKbps * 1000) / 8,
  ),
  viewer('counter', 'onode_viewer_frames_received_total', 'Frames the viewer received.', (v) => v.framesReceived),
  viewer('counter', 'onode_viewer_frames_lost_total', 'Frames the viewer lost.', (v) => v.framesLost),
  viewer(
    'counter',
    'onode_viewer_packets_lost_total',
    'RTP packets lost (RTCP receiver reports).',
    (v) => v.packetsLost,
  ),
  viewer(
    'gauge',
    'onode_viewer_fraction_lost_ratio',
    'Fraction of packets lost in the last report interval.',
    (v) => v.fractionLost,
  ),
  viewer('gauge', 'onode_viewer_jitter_seconds', 'Interarrival jitter.', (v) => seconds(v.jitterMs)),
  viewer('gauge', 'onode_viewer_stall_longest_seconds', 'Longest stall of the playback so far.', (v) =>
    seconds(v.longestStallMs),
  ),
  viewer('counter', 'onode_viewer_failovers_total', 'POP failovers the viewer made.', (v) => v.failovers),
];

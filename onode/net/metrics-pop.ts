/**
 * A POP's metrics: its RTSP server, each viewer's session (by viewer label, never the session id)
 * and the checks of every stream against the servers' signatures. Relays and servers have none
 * of these parts, so none of these series.
 */
import type { SessionStatus } from '../../common/wire/status-api.ts';
import { perItem, single } from './metric-spec.ts';
import { byReason, type NodeSnapshot, type Spec } from './metrics-snapshot.ts';

function rtsp(key: string) {
  return (s: NodeSnapshot): number | undefined => {
    const v = s.report.counters?.rtsp?.[key];
    return typeof v === 'number' ? v : undefined;
  };
}

/** Per RTSP session, labelled by its viewer label (never the session id, the viewer's credential). */
function session(name: string, help: string, value: (x: SessionStatus) => number): Spec {
  return perItem(
    'counter',
    name,
    help,
    ['viewer', 'movie', 'transport'],
    (s) => s.sessions,
    (x) => ({ viewer: x.viewer, movie: x.movie, transport: x.transport }),
    value,
  );
}

/** How POPs' stream checks ended, per packet. */
const VERIFY_RESULTS: readonly (readonly [result: string, counter: string])[] = [
  ['verified', 'verified'],
  ['rejected', 'rejected'],
  ['unknown_key', 'unknownKey'],
  ['expired', 'expired'],
  ['malformed', 'malformed'],
];

/** Why RTSP sessions ended other than by TEARDOWN. */
const SESSION_ENDS: readonly (readonly [reason: string, counter: string])[] = [
  ['timeout', 'sessionsReaped'],
  ['evicted', 'sessionsEvicted'],
  ['send_failed', 'sessionsFailed'],
  ['stuck', 'sessionsStuck'],
];

export const POP_METRICS: readonly Spec[] = [
  // Stream checks (POPs).
  byReason(
    'onode_verify_packets_total',
    "Packets checked against the servers' signatures, by result.",
    'result',
    VERIFY_RESULTS,
    (s, c) => s.report.counters?.verify?.[c],
  ),
  // RTSP (POPs).
  single('gauge', 'onode_rtsp_sessions', 'RTSP sessions open.', (s) => s.report.sessions?.length),
  single('gauge', 'onode_rtsp_connections', 'RTSP connections open.', (s) => s.report.counters?.rtsp?.connections.open),
  session('onode_rtsp_session_packets_sent_total', 'RTP packets sent in the session.', (x) => x.packets),
  session('onode_rtsp_session_retransmitted_packets_total', 'Packets resent in the session.', (x) => x.retransmitted),
  session('onode_rtsp_session_dropped_frames_total', 'Frames not sent to the slow viewer.', (x) => x.framesDropped),
  single('counter', 'onode_rtsp_sessions_opened_total', 'RTSP sessions set up.', rtsp('sessionsOpened')),
  byReason(
    'onode_rtsp_sessions_ended_total',
    'RTSP sessions closed by the POP, by reason.',
    'reason',
    SESSION_ENDS,
    (s, c) => rtsp(c)(s),
  ),
  single('counter', 'onode_rtsp_requests_total', 'RTSP requests.', rtsp('requests')),
  single('counter', 'onode_rtsp_bad_requests_total', 'RTSP requests answered 4xx.', rtsp('badRequests')),
  single('counter', 'onode_rtsp_nacks_total', 'RTCP NACKs from viewers.', rtsp('nacks')),
  single('counter', 'onode_rtsp_retransmitted_packets_total', 'Packets resent to viewers.', rtsp('retransmitted')),
  single('counter', 'onode_rtsp_dropped_packets_total', 'Packets not sent to slow viewers.', rtsp('packetsDropped')),
  single('counter', 'onode_rtsp_dropped_frames_total', 'Frames not sent to slow viewers.', rtsp('framesDropped')),
];

/** RtspSessions on a virtual clock with a fake overlay and a fake sender, for the core's tests. */
import { expect } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import type { MovieInfo } from '../../../common/wire/overlay.ts';
import { encodeRtp } from '../../../common/wire/rtp.ts';
import type { RtspRequest } from '../../../common/wire/rtsp.ts';
import {
  type RtspPeer,
  type RtspReply,
  RtspSessions,
  type SendCallback,
  type SendTarget,
} from '../../../onode/core/rtsp-sessions.ts';
import type { LocalReceiver } from '../../../onode/core/stream-tree.ts';
import type { ViewerSink } from '../../../onode/core/viewer-table.ts';

export const MOVIE: MovieInfo = { name: 'bars.mjpeg', fps: 25, width: 320, height: 240, frames: 100 };
export const URL = 'rtsp://127.0.6.2:8554/bars.mjpeg';
export const UDP = 'RTP/AVP;unicast;client_port=5000-5001';

export function rtp(seq: number, timestamp: number, opts: { marker?: boolean; bytes?: number } = {}): Buffer {
  return encodeRtp({
    marker: opts.marker ?? false,
    payloadType: 26,
    sequenceNumber: seq,
    timestamp,
    ssrc: 0xabc,
    csrcs: [],
    payload: Buffer.alloc(opts.bytes ?? 20),
  });
}

export interface SentPacket {
  readonly peer: number;
  readonly target: SendTarget;
  readonly rtp: Buffer;
  /** The callback the core asked to hear the outcome on, if it did for this send. */
  readonly sent?: SendCallback;
}

export interface HarnessOptions {
  readonly onJoin?: (r: LocalReceiver, movie: string) => void;
  readonly randomId?: () => string;
  readonly catalogue?: readonly MovieInfo[];
  /** Replaces the fake socket's queue report (e.g. to make it throw). */
  readonly queuedBytes?: (peer: RtspPeer) => number;
  /** The viewer statistics the sessions feed, if the test wants them. */
  readonly viewers?: (clock: VirtualClock) => ViewerSink;
}

export function rtspHarness(o: HarnessOptions = {}) {
  const clock = new VirtualClock();
  /** Stream-tree receivers by the label the core joined with. */
  const joined = new Map<string, LocalReceiver>();
  const labels: string[] = [];
  const left: string[] = [];
  const sent: SentPacket[] = [];
  const rtcpSent: SentPacket[] = [];
  const cache = new Map<number, Buffer>();
  const latest: Buffer[] = [];
  /** Bytes "waiting" on each connection, as the fake socket reports them. */
  const queued = new Map<number, number>();
  const closedConnections: number[] = [];
  /** Sends to these UDP RTP ports throw, as dgram does for port 0. */
  const badPorts = new Set<number>([0]);
  let n = 0;
  const sessions = new RtspSessions({
    clock,
    catalogue: () => o.catalogue ?? [MOVIE],
    join: (movie, id, r) => {
      joined.set(id, r);
      labels.push(id);
      (o.onJoin ?? ((x) => x.joined()))(r, movie);
    },
    leave: (_m, id) => {
      left.push(id);
      joined.delete(id);
    },
    sendRtp: (target, packet, done) => {
      if (target.delivery.kind === 'udp' && badPorts.has(target.delivery.rtpPort)) {
        throw new RangeError('Port should be > 0 and < 65536. Received 0.');
      }
      sent.push({ peer: target.peer.id, target, rtp: packet, ...(done ? { sent: done } : {}) });
    },
    sendRtcp: (target, rtcp) => rtcpSent.push({ peer: target.peer.id, target, rtp: rtcp }),
    queuedBytes: o.queuedBytes ?? ((peer) => queued.get(peer.id) ?? 0),
    closeConnection: (peer) => closedConnections.push(peer.id),
    repair: (_m, _ssrc, seqs) => seqs.filter((q) => cache.has(q)).map((q) => cache.get(q)!),
    wallClockMs: () => 1_700_000_000_000 + clock.now(),
    latestFrame: () => latest,
    serverPorts: () => [6000, 6001],
    randomId: o.randomId ?? (() => (++n).toString(16).toUpperCase().padStart(16, '0')),
    ...(o.viewers ? { viewers: o.viewers(clock) } : {}),
  });
  sessions.start();
  const peer = (id = 1, remoteAddress = '127.0.6.20'): RtspPeer => ({ id, remoteAddress, localAddress: '127.0.6.2' });
  const ask = (method: string, uri: string, headers: Record<string, string> = {}, p = peer()): RtspReply[] => {
    const replies: RtspReply[] = [];
    const req: RtspRequest = {
      type: 'request',
      method,
      uri,
      headers: new Map(Object.entries({ cseq: '1', ...headers })),
      body: Buffer.alloc(0),
    };
    sessions.handle(p, req, (r) => replies.push(r));
    return replies;
  };
  /** Label (tree id) of each session id set up through `setup`. */
  const labelOf = new Map<string, string>();
  const setup = (p = peer(), transport = UDP): string => {
    const [r] = ask('SETUP', `${URL}/trackID=0`, { transport }, p);
    expect(r?.status).toBe(200);
    const id = String(r?.headers.Session).split(';')[0] ?? '';
    labelOf.set(id, labels[labels.length - 1] ?? '');
    return id;
  };
  const receiver = (id: string): LocalReceiver => {
    const r = joined.get(labelOf.get(id) ?? '');
    if (r === undefined) throw new Error(`no receiver for session ${id}`);
    return r;
  };
  const play = (id: string, p = peer()): number => ask('PLAY', URL, { session: id }, p)[0]?.status ?? 0;
  return {
    clock,
    sessions,
    joined,
    left,
    sent,
    rtcpSent,
    cache,
    latest,
    queued,
    closedConnections,
    badPorts,
    ask,
    setup,
    play,
    peer,
    receiver,
    labelOf,
  };
}

import { describe, expect, it } from 'vitest';
import type { StatusReport } from '../../common/wire/status-api.ts';
import { renderFlows } from '../../scripts/demo-view.ts';

/** A POP carrying one movie to one overlay branch and RTSP viewers, with the counters the view reads. */
function pop(packetsOut: number, bytesOut: number, viewerPackets: number[]): StatusReport {
  return {
    name: 'o5',
    role: 'pop',
    streams: [
      {
        movie: 'bars.mjpeg',
        upstream: 'o4',
        downstream: ['o9'],
        clients: ['127.0.6.20'],
        packetsIn: 1000,
        bytesIn: 1_000_000,
        packetsOut,
        bytesOut,
      },
    ],
    sessions: viewerPackets.map((packets, i) => ({
      viewer: `v${i}`,
      movie: 'bars.mjpeg',
      client: '127.0.6.20',
      transport: 'udp',
      state: 'playing',
      packets,
      retransmitted: 0,
      packetsDropped: 0,
      framesDropped: 0,
    })),
  } as unknown as StatusReport;
}

const rowOf = (out: string) =>
  out
    .split('\n')
    .find((l) => l.startsWith('o5'))
    ?.split(/\s{2,}/);

describe('renderFlows', () => {
  it("counts a POP's RTSP viewers in what it sends, with the stream's mean packet size", () => {
    const before = new Map([['o5', pop(100, 100_000, [50, 50])]]);
    // In 2 s: 200 packets (200 kB) to the branch, 300 + 100 packets to the viewers (1000 B each).
    const row = rowOf(renderFlows([pop(300, 300_000, [350, 150])], before, 2));
    expect(row?.slice(-2)).toEqual(['300', '2400']);
  });

  it('shows no rate before there is a previous poll, and never a negative one when a viewer leaves', () => {
    expect(rowOf(renderFlows([pop(300, 300_000, [350])], new Map(), 2))?.slice(-2)).toEqual(['0', '0']);
    const before = new Map([['o5', pop(300, 300_000, [350, 150])]]);
    expect(rowOf(renderFlows([pop(300, 300_000, [])], before, 2))?.slice(-2)).toEqual(['0', '0']);
  });
});

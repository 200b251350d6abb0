/** A run's recording: samples and events kept once each, CSV that spreadsheets read, plots of what was kept. */
import { describe, expect, it } from 'vitest';
import type { ViewerStats } from '../../../common/wire/status-api.ts';
import { csv, MAX_EVENTS, Recording } from '../../../onode/core/recording.ts';

const viewer = (id: string, fps: number, extra: Partial<ViewerStats> = {}): ViewerStats => ({
  id,
  pop: id.split('/')[0] ?? '',
  movie: 'bars.mjpeg',
  client: '10.0.6.20:5000',
  player: 'oclient',
  startedAt: 1000,
  updatedAt: 1000,
  state: 'playing',
  startupMs: 80,
  fps,
  bitrateKbps: 1400,
  framesReceived: 100,
  framesLost: 0,
  packetsLost: 0,
  fractionLost: 0,
  jitterMs: 0.5,
  longestStallMs: 40,
  failovers: 0,
  ...extra,
});

describe('a recording', () => {
  it('keeps each event once, however often the feed repeats it', () => {
    const r = new Recording(0);
    const e = { at: 1500, node: 'o4', kind: 'link-down', detail: 'o4-o5' };
    r.addEvents([e, e]);
    r.addEvents([e, { ...e, at: 1600, kind: 'reroute' }]);
    expect(r.events.map((x) => x.kind)).toEqual(['link-down', 'reroute']);
    expect(r.eventsCsv().split('\r\n')[1]).toBe('1.500,1500,o4,link-down,o4-o5');
  });

  it('writes one CSV row per sample, empty where a player cannot know a value', () => {
    const r = new Recording(0);
    r.addViewers(1000, [viewer('o5/1', 25), viewer('o6/1', 24, { player: 'rtsp', fps: null })]);
    const rows = r.viewersCsv().trimEnd().split('\r\n');
    expect(rows).toHaveLength(3);
    expect(rows[0]?.split(',').slice(0, 6)).toEqual(['seconds', 'viewer', 'pop', 'movie', 'player', 'state']);
    expect(rows[2]?.split(',')[7]).toBe('');
  });

  it('quotes CSV fields as RFC 4180 says', () => {
    expect(csv([['a,b', 'say "hi"', 'plain']])).toBe('"a,b","say ""hi""",plain\r\n');
  });

  it('plots a line per viewer with the failures marked, and each startup', () => {
    const r = new Recording(0);
    for (let t = 0; t < 5; t++) r.addViewers(t * 1000, [viewer('o5/1', t === 2 ? 10 : 25), viewer('o6/1', 25)]);
    r.addEvents([
      { at: 2000, node: 'o4', kind: 'link-down', detail: '' },
      { at: 2100, node: 'o5', kind: 'join', detail: '' },
    ]);
    const fps = r.seriesSvg('fps', 'fps per viewer', 'fps');
    expect(fps.match(/<path /g)).toHaveLength(2);
    expect(fps).toContain('o4: link-down');
    expect(fps).not.toContain('o5: join');
    expect(r.startupSvg().match(/<rect x=/g)?.length).toBeGreaterThanOrEqual(2);
  });

  it('stops keeping events at its bound and counts the rest', () => {
    const r = new Recording(0);
    r.addEvents(Array.from({ length: MAX_EVENTS + 3 }, (_, i) => ({ at: i, node: 'n', kind: 'k', detail: '' })));
    expect(r.events).toHaveLength(MAX_EVENTS);
    expect(r.dropped).toBe(3);
  });
});

import { describe, expect, it } from 'vitest';
import { escapeTags, movieLine, popLines, statsLines } from '../../../oclient/tui/panel-text.ts';
import type { SessionStats } from '../../../oclient/net/play-session.ts';

const stats: SessionStats = {
  framesReceived: 120,
  framesLost: 2,
  framesRejected: 0,
  verifying: true,
  packetsReceived: 990,
  packetsLost: 10,
  bytesReceived: 1_000_000,
  startupMs: 85.25,
  jitterMs: 0.5,
  fps: 25,
  bitrateKbps: 1450,
  state: 'playing',
};

describe('panel text', () => {
  it('escapes braces so names from the network cannot inject tags', () => {
    expect(escapeTags('a{red-fg}b}')).toBe('a{open}red-fg{close}b{close}');
  });

  it('lists the POPs with their RTT and marks the chosen one', () => {
    const lines = popLines(
      [
        { name: 'o5', address: '10.0.6.2', rttMs: 1.234, answered: 5 },
        { name: 'o7', address: '10.0.9.2', rttMs: null, answered: 0 },
      ],
      '10.0.6.2',
    );
    expect(lines[0]).toContain('▶');
    expect(lines[0]).toContain('1.23 ms');
    expect(lines[0]).toMatch(/^\{bold\}/);
    expect(lines[1]).not.toContain('▶');
    expect(lines[1]).toContain('no answer');
  });

  it('shows the live statistics with the loss rate', () => {
    const text = statsLines(stats, { shown: 100, skipped: 20 }).join('\n');
    expect(text).toContain('frames    120');
    expect(text).toContain('shown     100 (skipped 20)');
    expect(text).toContain('fps       25');
    expect(text).toContain('1450 kbit/s');
    expect(text).toContain('lost 10 (1.0 %)');
    expect(text).toContain('jitter    0.50 ms');
    expect(text).toContain('startup   85.3 ms');
    expect(text).toContain('{bold}playing{/bold}');
    expect(text).not.toContain('stats to POP');
    expect(statsLines(stats, { shown: 0, skipped: 0, reporting: true })[0]).toContain('stats to POP');
    expect(statsLines(stats, { shown: 0, skipped: 0, reporting: false })[0]).not.toContain('stats to POP');
  });

  it("shows the movie's timeline over every session: repeated (red when not 0), skipped, duplicates", () => {
    const timeline = { framesRepeated: 0, framesSkipped: 83, framesDuplicate: 1 };
    const text = statsLines(stats, { shown: 0, skipped: 0, timeline }).join('\n');
    expect(text).toContain('timeline  0 repeated, 83 skipped, {gray-fg}1 dup{/gray-fg}');
    const bad = statsLines(stats, { shown: 0, skipped: 0, timeline: { ...timeline, framesRepeated: 2 } }).join('\n');
    expect(bad).toContain('{red-fg}2 repeated{/red-fg}');
    expect(statsLines(stats, { shown: 0, skipped: 0 }).join('\n')).not.toContain('timeline');
  });

  it("says whether frames are checked against the servers' keys, and how many were rejected", () => {
    expect(statsLines(stats, { shown: 0, skipped: 0 }).join('\n')).toContain('signed    every frame checked');
    const text = (s: SessionStats): string => statsLines(s, { shown: 0, skipped: 0 }).join('\n');
    expect(text({ ...stats, framesRejected: 3 })).toContain('3 frames rejected');
    expect(text({ ...stats, verifying: false })).toContain('NOT CHECKED: no server keys');
  });

  it('shows a dash before the first frame and the init state without a session', () => {
    expect(
      statsLines({ ...stats, startupMs: null, packetsReceived: 0, packetsLost: 0 }, { shown: 0, skipped: 0 }).join(
        '\n',
      ),
    ).toContain('startup   —');
    expect(statsLines(null, { shown: 0, skipped: 0 })[0]).toContain('init');
  });

  it('describes a movie of the catalogue', () => {
    expect(movieLine({ name: 'bars.mjpeg', fps: 25, width: 320, height: 240, frames: 100 })).toBe(
      'bars.mjpeg  320x240  25 fps  100 frames (4.0 s)',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { summarizeRun, type ClientStats, type DriverResult } from '../../../onode/emulators/run-summary.ts';

const played: ClientStats = {
  movie: 'bars.mjpeg',
  pop: 'o5',
  framesReceived: 500,
  framesLost: 0,
  packetsLost: 0,
  startupMs: 70,
  fps: 25,
  jitterMs: 0.6,
};

describe('run summary', () => {
  it('is ok when the overlay was ready and every client got frames', () => {
    const result: DriverResult = { ready: true, netem: false, clients: { c1: 0, c2: 0 }, clientSeconds: 20 };
    const s = summarizeRun(
      result,
      ['c1', 'c2'],
      new Map([
        ['c1', played],
        ['c2', { ...played, pop: 'o6' }],
      ]),
    );
    expect(s.ok).toBe(true);
    expect(s.text).toContain('no netem in this kernel');
    expect(s.text).toMatch(/^c2 +bars\.mjpeg +o6 +500 +0 +0 +70 +25\.0 +0\.60 +0 played$/m);
    expect(s.text.trimEnd().split('\n').at(-1)).toBe('every client received its stream (20 s each)');
  });

  it('fails and names the clients without a stream', () => {
    const s = summarizeRun(
      { ready: true, netem: true, clients: { c1: 0, c2: 7 } },
      ['c1', 'c2', 'c3'],
      new Map([
        ['c1', played],
        ['c2', { ...played, framesReceived: 0 }],
        ['c3', null],
      ]),
    );
    expect(s.ok).toBe(false);
    expect(s.text).toContain('7 no frames arrived');
    expect(s.text).toMatch(/^c3 .* not started$/m);
    expect(s.text).toContain('no stream for: c2, c3');
  });

  it('fails and names a client that had frames but then failed', () => {
    const s = summarizeRun(
      { ready: true, netem: false, clients: { c1: 0, c3: 8 } },
      ['c1', 'c3'],
      new Map([
        ['c1', played],
        ['c3', { ...played, framesReceived: 21 }],
      ]),
    );
    expect(s.ok).toBe(false);
    expect(s.text).toMatch(/^c3 .* 8 every POP refused$/m);
    expect(s.text.trimEnd().split('\n').at(-1)).toBe('ended in failure: c3 (exit 8)');
  });

  it('says why the overlay never became ready', () => {
    const s = summarizeRun({ ready: false, netem: true, clients: {}, missing: ['o3'] }, [], new Map());
    expect(s).toEqual({
      ok: false,
      text: 'the overlay never became ready: not registered: o3 (see their logs)\nthe run did not complete',
    });
    expect(summarizeRun({ ready: false, netem: null, clients: {}, error: 'boom' }, [], new Map()).text).toContain(
      'the run failed: boom',
    );
  });

  it('is not ok when stopped early, even with frames', () => {
    const s = summarizeRun(
      { ready: true, netem: true, clients: { c1: null }, stopped: 'SIGINT' },
      ['c1'],
      new Map([['c1', played]]),
    );
    expect(s.ok).toBe(false);
    expect(s.text).toContain('stopped early (SIGINT)');
    expect(s.text).toMatch(/still playing$/m);
    expect(s.text.trimEnd().split('\n').at(-1)).toBe('every client had frames when it stopped');
  });
});

import { describe, expect, it } from 'vitest';
import { describeRefusals, RefusalRound, refusalReason } from '../../../oclient/core/refusal-round.ts';

const names: Record<string, string> = { '10.0.6.2': 'o5', '10.0.7.2': 'o6', '10.0.9.2': 'o7' };
const nameOf = (a: string): string => names[a] ?? a;

describe('a round of refusals', () => {
  it('is complete once every POP has refused, and lists the refusals in POP order', () => {
    const round = new RefusalRound(['10.0.6.2', '10.0.7.2', '10.0.9.2']);
    round.refused('10.0.7.2', 404, 'unknown-movie');
    round.refused('10.0.6.2', 404, 'unknown-movie');
    expect(round.complete).toBe(false);
    round.refused('10.0.9.2', 503, 'no-route');
    expect(round.complete).toBe(true);
    expect(round.refusals().map((r) => r.pop)).toEqual(['10.0.6.2', '10.0.7.2', '10.0.9.2']);
    expect(describeRefusals('bars.mjpeg', round.refusals(), nameOf)).toBe(
      'every POP refused bars.mjpeg: o5 404 unknown-movie, o6 404 unknown-movie, o7 503 no-route',
    );
  });

  it('is not complete while a POP last failed for a transient reason or played', () => {
    const round = new RefusalRound(['a', 'b']);
    round.refused('a', 404, 'Not Found');
    round.refused('b', 503, 'no-route');
    round.cleared('b'); // b then dropped the connection: a transient failure, so failover goes on
    expect(round.complete).toBe(false);
    expect(round.hasRefused('a')).toBe(true);
    expect(round.hasRefused('b')).toBe(false);
    round.refused('b', 503, 'no-route');
    expect(round.complete).toBe(true);
  });

  it('ignores POPs outside the round and duplicate POPs in it', () => {
    const round = new RefusalRound(['a', 'a']);
    round.refused('z', 404, 'Not Found');
    expect(round.complete).toBe(false);
    round.refused('a', 453, 'Not Enough Bandwidth');
    expect(round.complete).toBe(true);
    expect(round.refusals()).toEqual([{ pop: 'a', status: 453, reason: 'Not Enough Bandwidth' }]);
  });

  it('starts over on reset: no POP counts as refusing', () => {
    const round = new RefusalRound(['a']);
    round.refused('a', 404, 'Not Found');
    round.reset();
    expect(round.complete).toBe(false);
    expect(round.refusals()).toEqual([]);
  });

  it('is never complete without POPs', () => {
    expect(new RefusalRound([]).complete).toBe(false);
  });

  it('names a single POP without "every"', () => {
    expect(describeRefusals('bars.mjpeg', [{ pop: '10.0.6.2', status: 404, reason: 'unknown-movie' }], nameOf)).toBe(
      'POP o5 refused bars.mjpeg: 404 unknown-movie',
    );
  });
});

describe('the reason of a refusal', () => {
  it("is the overlay's NAK reason, else the RTSP reason phrase", () => {
    expect(refusalReason(503, 'no-route')).toBe('no-route');
    expect(refusalReason(404, null)).toBe('Not Found');
    expect(refusalReason(453, null)).toBe('Not Enough Bandwidth');
  });
});

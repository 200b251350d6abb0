/** A report body deflated when that is shorter, and inflated only within a bound. */
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { packReportBody, unpackReportBody, wireBytes } from '../../../common/wire/report-body.ts';

const rows = JSON.stringify({
  at: 1,
  events: [],
  neighbours: Array.from({ length: 8 }, (_, i) => ({ name: `n${i}`, alive: true, cut: false, rttMs: i })),
});

describe('report bodies', () => {
  it('keeps a short body as JSON and deflates a long one that shrinks, both read back', () => {
    const short = '{"at":1,"events":[],"droppedEvents":0}';
    expect(packReportBody(short)).toBe(short);
    const packed = packReportBody(rows);
    expect(packed.startsWith('z:')).toBe(true);
    expect(wireBytes(packed)).toBeLessThan(wireBytes(rows) / 2);
    expect(unpackReportBody(packed, 1 << 16)).toBe(rows);
    expect(unpackReportBody(short, 1 << 16)).toBe(short);
  });

  it('refuses bad deflate and a body that would inflate past the bound', () => {
    expect(unpackReportBody('z:not-deflate!!', 1 << 16)).toBeNull();
    const bomb = `z:${deflateRawSync(Buffer.alloc(1 << 20, 0x20)).toString('base64')}`;
    expect(bomb.length).toBeLessThan(2000);
    expect(unpackReportBody(bomb, 1 << 16)).toBeNull();
  });
});

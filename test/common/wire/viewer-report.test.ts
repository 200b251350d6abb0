import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeViewerReport,
  encodeViewerReport,
  MAX_VIEWER_REPORT_BYTES,
  type ViewerReport,
} from '../../../common/wire/viewer-report.ts';

const REPORT: ViewerReport = {
  v: 1,
  startupMs: 120.5,
  fps: 25,
  bitrateKbps: 900,
  framesReceived: 250,
  framesLost: 2,
  packetsReceived: 1000,
  packetsLost: 4,
  jitterMs: 1.25,
  longestStallMs: 80,
  failovers: 1,
  total: { framesReceived: 400, framesLost: 3 },
};

const json = (x: unknown): Buffer => Buffer.from(JSON.stringify(x));

describe('viewer report codec', () => {
  it('round-trips a report, with and without the totals', () => {
    expect(decodeViewerReport(encodeViewerReport(REPORT))).toEqual({ ok: true, value: REPORT });
    const { total: _, ...bare } = REPORT;
    expect(decodeViewerReport(encodeViewerReport(bare))).toEqual({ ok: true, value: bare });
  });

  it("carries the timeline's counts (optional: older clients omit them), refusing negative ones", () => {
    const timeline = { ...REPORT, framesRepeated: 0, framesSkipped: 83, framesDuplicate: 1 };
    expect(decodeViewerReport(encodeViewerReport(timeline))).toEqual({ ok: true, value: timeline });
    expect(decodeViewerReport(json({ ...REPORT, framesSkipped: -1 }))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('keeps a report under its size cap', () => {
    expect(encodeViewerReport(REPORT).length).toBeLessThan(MAX_VIEWER_REPORT_BYTES / 2);
  });

  it('refuses a body over the cap before parsing it', () => {
    const padded = json({ ...REPORT, pad: 'x'.repeat(MAX_VIEWER_REPORT_BYTES) });
    expect(decodeViewerReport(padded)).toEqual({ ok: false, reason: 'oversize' });
  });

  it('refuses what is not JSON, or not the schema', () => {
    expect(decodeViewerReport(Buffer.from('{"v":1,'))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeViewerReport(Buffer.from('null'))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeViewerReport(json([REPORT]))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeViewerReport(json({ ...REPORT, fps: -1 }))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeViewerReport(json({ ...REPORT, framesLost: 1.5 }))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeViewerReport(json({ ...REPORT, bitrateKbps: 1e300 }))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeViewerReport(json({ ...REPORT, failovers: '1' }))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeViewerReport(Buffer.from('{"v":1,"fps":1e999}'))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses another version as unsupported', () => {
    expect(decodeViewerReport(json({ ...REPORT, v: 2 }))).toEqual({ ok: false, reason: 'unsupported' });
  });

  it('never throws, whatever the bytes or JSON', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2 * MAX_VIEWER_REPORT_BYTES }), (bytes) => {
        expect(decodeViewerReport(Buffer.from(bytes)).ok).toBe(false);
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const r = decodeViewerReport(json(value));
        expect(typeof r.ok).toBe('boolean');
      }),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RTSP_PORT,
  formatLastFrame,
  formatSession,
  formatTransport,
  parseLastFrame,
  parseRtspUrl,
  parseSession,
  parseTransport,
  type TransportSpec,
} from '../../../common/wire/rtsp-headers.ts';
import { RtspEncodeError } from '../../../common/wire/rtsp.ts';

describe('Transport', () => {
  it('reads what ffmpeg, VLC and GStreamer send', () => {
    expect(parseTransport('RTP/AVP;unicast;client_port=5000-5001')).toEqual({
      ok: true,
      value: [{ profile: 'RTP/AVP', unicast: true, clientPort: [5000, 5001] }],
    });
    expect(parseTransport('RTP/AVP/TCP;unicast;interleaved=0-1')).toEqual({
      ok: true,
      value: [{ profile: 'RTP/AVP/TCP', unicast: true, interleaved: [0, 1] }],
    });
    // GStreamer offers several alternatives in order of preference.
    const r = parseTransport(
      'RTP/AVP/UDP;unicast;client_port=40000-40001,RTP/AVP/TCP;unicast;interleaved=2-3;mode="PLAY"',
    );
    expect(r).toEqual({
      ok: true,
      value: [
        { profile: 'RTP/AVP', unicast: true, clientPort: [40000, 40001] },
        { profile: 'RTP/AVP/TCP', unicast: true, interleaved: [2, 3], mode: 'PLAY' },
      ],
    });
  });

  it('reads a server reply with every parameter, case-insensitively', () => {
    expect(
      parseTransport(
        'rtp/avp;Unicast;destination=10.0.0.9;source=10.0.0.1;' +
          'Client_Port=5000;server_port=6970-6971;ssrc=1A2B;mode=play',
      ),
    ).toEqual({
      ok: true,
      value: [
        {
          profile: 'RTP/AVP',
          unicast: true,
          destination: '10.0.0.9',
          source: '10.0.0.1',
          clientPort: [5000, 5001],
          serverPort: [6970, 6971],
          ssrc: 0x1a2b,
          mode: 'play',
        },
      ],
    });
  });

  it('defaults to multicast, tolerates empty parameters and ignores unknown ones', () => {
    expect(parseTransport('RTP/AVP;;ttl=16;destination;x-foo=bar;')).toEqual({
      ok: true,
      value: [{ profile: 'RTP/AVP', unicast: false }],
    });
  });

  it('round-trips formatTransport → parseTransport', () => {
    const specs: TransportSpec[] = [
      { profile: 'RTP/AVP', unicast: true, clientPort: [5000, 5001], serverPort: [6970, 6971], ssrc: 0xdeadbeef },
      { profile: 'RTP/AVP/TCP', unicast: true, interleaved: [0, 1], mode: 'PLAY' },
      { profile: 'RTP/AVP', unicast: false, destination: '239.0.0.1', source: 'fd00::1', ssrc: 0 },
    ];
    for (const spec of specs) expect(parseTransport(formatTransport(spec))).toEqual({ ok: true, value: [spec] });
    expect(formatTransport(specs[0]!)).toBe(
      'RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=DEADBEEF',
    );
  });

  it("'unsupported' when no alternative uses a profile we speak", () => {
    expect(parseTransport('RTP/SAVP;unicast;client_port=1-2')).toEqual({ ok: false, reason: 'unsupported' });
    expect(parseTransport('RAW/RAW/UDP;unicast, RTP/SAVPF')).toEqual({ ok: false, reason: 'unsupported' });
    // An unsupported alternative next to a supported one is simply skipped.
    expect(parseTransport('RTP/SAVP;unicast,RTP/AVP;unicast')).toEqual({
      ok: true,
      value: [{ profile: 'RTP/AVP', unicast: true }],
    });
  });

  it("'unsupported' for ports or channels out of range, and such an alternative is skipped", () => {
    for (const v of [
      'RTP/AVP;client_port=70000',
      'RTP/AVP;client_port=5000-70000',
      'RTP/AVP;client_port=65535',
      'RTP/AVP/TCP;interleaved=256',
      'RTP/AVP/TCP;interleaved=255',
    ]) {
      expect(parseTransport(v), v).toEqual({ ok: false, reason: 'unsupported' });
    }
    expect(parseTransport('RTP/AVP;unicast;client_port=70000,RTP/AVP/TCP;unicast;interleaved=0-1')).toEqual({
      ok: true,
      value: [{ profile: 'RTP/AVP/TCP', unicast: true, interleaved: [0, 1] }],
    });
  });

  it("'malformed' for broken values", () => {
    for (const v of [
      '',
      ' , ',
      'garbage',
      'RTP/AVP;unicast;multicast',
      'RTP/AVP;client_port=',
      'RTP/AVP;client_port=a-b',
      'RTP/AVP;client_port=123456',
      'RTP/AVP;ssrc=123456789',
      'RTP/AVP;ssrc=xyz',
      'RTP/AVP;mode=',
      'RTP/AVP;mode="PLAY',
      'RTP/AVP;=5',
      'RTP/AVP;unicast,RTP/AVP;client_port=x',
    ]) {
      expect(parseTransport(v), v).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('throws RtspEncodeError for values that cannot be written', () => {
    const base: TransportSpec = { profile: 'RTP/AVP', unicast: true };
    expect(() => formatTransport({ ...base, clientPort: [5000, 70000] })).toThrow(RtspEncodeError);
    expect(() => formatTransport({ ...base, interleaved: [0, 256] })).toThrow(RtspEncodeError);
    expect(() => formatTransport({ ...base, ssrc: 2 ** 32 })).toThrow(RtspEncodeError);
    expect(() => formatTransport({ ...base, mode: 'PLAY";x' })).toThrow(RtspEncodeError);
    expect(() => formatTransport({ ...base, destination: '1.2.3.4;evil' })).toThrow(RtspEncodeError);
  });
});

describe('Session', () => {
  it('reads ids with and without a timeout', () => {
    expect(parseSession('12345678')).toEqual({ ok: true, value: { id: '12345678' } });
    expect(parseSession(' A3eqwsafq3rFASqew ; timeout=60')).toEqual({
      ok: true,
      value: { id: 'A3eqwsafq3rFASqew', timeoutSec: 60 },
    });
    expect(parseSession('abc;foo=bar;TIMEOUT=5')).toEqual({ ok: true, value: { id: 'abc', timeoutSec: 5 } });
  });

  it('round-trips formatSession → parseSession', () => {
    expect(parseSession(formatSession('s-1.$_+', 65))).toEqual({ ok: true, value: { id: 's-1.$_+', timeoutSec: 65 } });
  });

  it("'malformed' for empty or invalid ids and timeouts", () => {
    for (const v of [
      '',
      ';timeout=5',
      'a b',
      'a,b',
      'id;timeout',
      'id;timeout=',
      'id;timeout=-1',
      'id;timeout=1e3',
      'id;timeout=9999999999',
    ]) {
      expect(parseSession(v), v).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('formatSession throws RtspEncodeError for ids outside the RFC alphabet or bad timeouts', () => {
    expect(() => formatSession('a;b', 60)).toThrow(RtspEncodeError);
    expect(() => formatSession('', 60)).toThrow(RtspEncodeError);
    expect(() => formatSession('abc', -1)).toThrow(RtspEncodeError);
    expect(() => formatSession('abc', 1.5)).toThrow(RtspEncodeError);
  });
});

describe('Request URI', () => {
  it('reads host, port, path and track control', () => {
    expect(parseRtspUrl('rtsp://10.0.0.1:8554/bars')).toEqual({
      ok: true,
      value: { host: '10.0.0.1', port: 8554, path: 'bars' },
    });
    expect(parseRtspUrl('RTSP://pop1/movies/bars/trackID=0')).toEqual({
      ok: true,
      value: { host: 'pop1', port: DEFAULT_RTSP_PORT, path: 'movies/bars', trackId: '0' },
    });
    expect(parseRtspUrl('rtsp://user:pw@[fd00::1]:554/bars/streamid=1?x=1#y')).toEqual({
      ok: true,
      value: { host: 'fd00::1', port: 554, path: 'bars', trackId: '1' },
    });
    expect(parseRtspUrl('rtsp://h')).toEqual({ ok: true, value: { host: 'h', port: DEFAULT_RTSP_PORT, path: '' } });
    expect(parseRtspUrl('rtsp://h:/a%20b/')).toEqual({
      ok: true,
      value: { host: 'h', port: DEFAULT_RTSP_PORT, path: 'a b' },
    });
    expect(parseRtspUrl('/bars/trackID=0')).toEqual({
      ok: true,
      value: { host: '', port: DEFAULT_RTSP_PORT, path: 'bars', trackId: '0' },
    });
    expect(parseRtspUrl('*')).toEqual({ ok: true, value: { host: '', port: DEFAULT_RTSP_PORT, path: '*' } });
  });

  it('collapses empty segments, so the path never starts or ends with /', () => {
    expect(parseRtspUrl('rtsp://h//bars//x/')).toEqual({
      ok: true,
      value: { host: 'h', port: DEFAULT_RTSP_PORT, path: 'bars/x' },
    });
    expect(parseRtspUrl('rtsp://h///')).toEqual({ ok: true, value: { host: 'h', port: DEFAULT_RTSP_PORT, path: '' } });
  });

  it("'unsupported' for other schemes", () => {
    expect(parseRtspUrl('http://h/bars')).toEqual({ ok: false, reason: 'unsupported' });
    expect(parseRtspUrl('rtsps://h/bars')).toEqual({ ok: false, reason: 'unsupported' });
  });

  it("'malformed' for bad hosts, ports, escapes and paths that could escape a directory", () => {
    for (const v of [
      '',
      'bars',
      'rtsp://',
      'rtsp://h:0/x',
      'rtsp://h:65536/x',
      'rtsp://h:123456/x',
      'rtsp://a b/x',
      'rtsp://[zz]/x',
      'rtsp://h/%',
      'rtsp://h/%ff',
      'rtsp://h/a/../b',
      'rtsp://h/./b',
      'rtsp://h/%2e%2e/etc',
      'rtsp://h/%2Fetc%2Fpasswd',
      'rtsp://h/a%2F%2Fb',
      'rtsp://h/a%00b',
    ]) {
      expect(parseRtspUrl(v), v).toEqual({ ok: false, reason: 'malformed' });
    }
  });
});

describe('header parsers never throw', () => {
  it('on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (s) => {
        parseTransport(s);
        parseSession(s);
        parseRtspUrl(s);
        parseRtspUrl(`rtsp://h/${s}`);
        parseTransport(`RTP/AVP;${s}`);
      }),
      { numRuns: 3000 },
    );
  });

  it('and every accepted URL path is free of traversal', () => {
    const seg = fc.oneof(
      fc.constantFrom('.', '..', '%2e', '%2E%2e', '%2F', '', 'a', '%00', 'trackID=1'),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(seg, { maxLength: 6 }), (segs) => {
        const r = parseRtspUrl(`rtsp://h/${segs.join('/')}`);
        if (!r.ok) return;
        expect(r.value.path.startsWith('/')).toBe(false);
        expect(r.value.path.split('/').some((s) => s === '..' || s === '.')).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('X-Last-Frame', () => {
  it('round-trips, reads any order and case, and keeps 32-bit values', () => {
    const last = { ssrc: 0x00ab_cdef, rtptime: 0xffff_ffff };
    expect(formatLastFrame(last)).toBe('ssrc=00ABCDEF;rtptime=4294967295');
    expect(parseLastFrame(formatLastFrame(last))).toEqual({ ok: true, value: last });
    expect(parseLastFrame(' RTPTIME=7 ; ssrc=ff')).toEqual({ ok: true, value: { ssrc: 255, rtptime: 7 } });
  });

  it('rejects what it cannot read, without throwing', () => {
    for (const bad of ['', 'ssrc=1', 'rtptime=1', 'ssrc=123456789;rtptime=1', 'ssrc=1;rtptime=4294967296']) {
      expect(parseLastFrame(bad), bad).toEqual({ ok: false, reason: 'malformed' });
    }
    expect(parseLastFrame('ssrc=1;rtptime=ff')).toEqual({ ok: false, reason: 'malformed' });
    expect(parseLastFrame('ssrc=1;rtptime=1;x=2')).toEqual({ ok: false, reason: 'malformed' });
    expect(parseLastFrame(`ssrc=1;rtptime=${'0'.repeat(80)}`)).toEqual({ ok: false, reason: 'malformed' });
    expect(() => formatLastFrame({ ssrc: -1, rtptime: 0 })).toThrow(RtspEncodeError);
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(() => parseLastFrame(s)).not.toThrow();
      }),
    );
  });
});

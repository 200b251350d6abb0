import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FRAME_AUTH_EXTMAP } from '../../../common/wire/frame-auth.ts';
import {
  buildMjpegSdp,
  type MjpegSdpParams,
  MAX_SDP_BYTES,
  parseSdp,
  SdpBuildError,
} from '../../../common/wire/sdp.ts';

const params: MjpegSdpParams = {
  sessionId: '1712345678',
  originAddress: '10.0.3.20',
  sessionName: 'bars',
  control: 'trackID=0',
  fps: 25,
  width: 320,
  height: 240,
  rangeEndSec: 20,
};

describe('buildMjpegSdp', () => {
  it('writes the description players expect, line for line', () => {
    expect(buildMjpegSdp(params)).toBe(
      [
        'v=0',
        'o=- 1712345678 1 IN IP4 10.0.3.20',
        's=bars',
        'c=IN IP4 0.0.0.0',
        't=0 0',
        'a=control:*',
        'a=range:npt=0-20',
        'm=video 0 RTP/AVP 26',
        'a=rtpmap:26 JPEG/90000',
        'a=control:trackID=0',
        'a=framerate:25',
        'a=framesize:26 320-240',
        'a=x-dimensions:320,240',
        '',
      ].join('\r\n'),
    );
  });

  it('handles live streams, IPv6 origins, empty names and fractional rates', () => {
    const { rangeEndSec: _end, ...live } = params;
    const sdp = buildMjpegSdp({ ...live, originAddress: 'fd00::1', sessionName: '', fps: 30000 / 1001 });
    expect(sdp).toContain('o=- 1712345678 1 IN IP6 fd00::1\r\n');
    expect(sdp).toContain('s= \r\n');
    expect(sdp).toContain('a=range:npt=now-\r\n');
    expect(sdp).toContain('a=framerate:29.97\r\n');
  });

  it('round-trips through parseSdp', () => {
    const r = parseSdp(buildMjpegSdp(params));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Object.fromEntries(r.value.attributes)).toEqual({ control: '*', range: 'npt=0-20' });
    expect(r.value.media).toHaveLength(1);
    const [video] = r.value.media;
    expect(video).toMatchObject({ media: 'video', port: 0, proto: 'RTP/AVP', formats: ['26'] });
    expect(Object.fromEntries(video?.attributes ?? [])).toEqual({
      rtpmap: '26 JPEG/90000',
      control: 'trackID=0',
      framerate: '25',
      framesize: '26 320-240',
      'x-dimensions': '320,240',
    });
  });

  it('announces the frame-signature header extensions in the media section when asked', () => {
    const sdp = buildMjpegSdp({ ...params, extensions: FRAME_AUTH_EXTMAP });
    expect(
      sdp.endsWith(
        [
          'a=x-dimensions:320,240',
          'a=extmap:1 urn:x-overlay-cdn:rtp-hdrext:frame-signature',
          'a=extmap:2 urn:x-overlay-cdn:rtp-hdrext:packet-hashes',
          '',
        ].join('\r\n'),
      ),
    ).toBe(true);
    const r = parseSdp(sdp);
    expect(r.ok && r.value.media[0]?.attributes.get('extmap')).toBe('1 urn:x-overlay-cdn:rtp-hdrext:frame-signature');
    expect(() => buildMjpegSdp({ ...params, extensions: [{ id: 15, uri: 'urn:x' }] })).toThrow(SdpBuildError);
    expect(() => buildMjpegSdp({ ...params, extensions: [{ id: 1, uri: 'urn:x\r\nm=audio' }] })).toThrow(SdpBuildError);
  });

  it('throws SdpBuildError for values that would corrupt the description', () => {
    expect(() => buildMjpegSdp({ ...params, sessionId: 'a b' })).toThrow(SdpBuildError);
    expect(() => buildMjpegSdp({ ...params, originAddress: '' })).toThrow(SdpBuildError);
    expect(() => buildMjpegSdp({ ...params, control: 'track\r\nm=audio' })).toThrow(SdpBuildError);
    expect(() => buildMjpegSdp({ ...params, sessionName: 'x\r\na=evil' })).toThrow(SdpBuildError);
    expect(() => buildMjpegSdp({ ...params, fps: 0 })).toThrow(SdpBuildError);
    expect(() => buildMjpegSdp({ ...params, fps: Number.NaN })).toThrow(SdpBuildError);
    expect(() => buildMjpegSdp({ ...params, width: 0 })).toThrow(SdpBuildError);
    expect(() => buildMjpegSdp({ ...params, height: 65536 })).toThrow(SdpBuildError);
    expect(() => buildMjpegSdp({ ...params, rangeEndSec: -1 })).toThrow(SdpBuildError);
  });
});

describe('parseSdp', () => {
  it('reads a description from another server (LF endings, several media, flags, repeats)', () => {
    const text = [
      'v=0',
      'o=- 0 0 IN IP4 127.0.0.1',
      's=No Name',
      'a=tool:libavformat 61.1.100',
      '',
      'm=video 5000/2 RTP/AVP 26 96',
      'a=recvonly',
      'a=control:streamid=0',
      'a=control:ignored',
      'm=audio 0 RTP/AVP 0',
      'b=AS:64',
    ].join('\n');
    const r = parseSdp(text);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.attributes.get('tool')).toBe('libavformat 61.1.100');
    expect(r.value.media.map((m) => [m.media, m.port, m.formats])).toEqual([
      ['video', 5000, ['26', '96']],
      ['audio', 0, ['0']],
    ]);
    expect(r.value.media[0]?.attributes.get('recvonly')).toBe('');
    expect(r.value.media[0]?.attributes.get('control')).toBe('streamid=0');
  });

  it("refuses text that is not SDP as 'malformed'", () => {
    expect(parseSdp('')).toEqual({ ok: false, reason: 'malformed' });
    expect(parseSdp('hello world')).toEqual({ ok: false, reason: 'malformed' });
    expect(parseSdp('s=x\r\nv=0\r\n')).toEqual({ ok: false, reason: 'malformed' });
    expect(parseSdp('v=0\r\nnot a line\r\n')).toEqual({ ok: false, reason: 'malformed' });
    expect(parseSdp('v=0\r\na=\r\n')).toEqual({ ok: false, reason: 'malformed' });
    expect(parseSdp('v=0\r\na=:x\r\n')).toEqual({ ok: false, reason: 'malformed' });
    for (const m of [
      'm=video',
      'm=video 0',
      'm=video 0 RTP/AVP',
      'm=video x RTP/AVP 26',
      'm=video 70000 RTP/AVP 26',
      'm= 0 RTP/AVP 26',
      'm=video 0 RTP/AVP 26  96',
    ]) {
      expect(parseSdp(`v=0\r\n${m}\r\n`), m).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it("refuses another SDP version as 'unsupported'", () => {
    expect(parseSdp('v=1\r\ns=x\r\n')).toEqual({ ok: false, reason: 'unsupported' });
  });

  it("refuses more than MAX_SDP_BYTES as 'oversize'", () => {
    expect(parseSdp(`v=0\r\n${'a=x\r\n'.repeat(MAX_SDP_BYTES / 5)}`)).toEqual({ ok: false, reason: 'oversize' });
    expect(parseSdp(`v=0\r\n${'é'.repeat(MAX_SDP_BYTES / 2)}`)).toEqual({ ok: false, reason: 'oversize' });
  });

  it('never throws on random or mangled text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => void parseSdp(s)),
      { numRuns: 1000 },
    );
    const lines = fc.array(
      fc.oneof(fc.constantFrom('v=0', 'm=video 0 RTP/AVP 26', 'a=x:y', 'a=', 'm=', ''), fc.string()),
      {
        maxLength: 12,
      },
    );
    fc.assert(
      fc.property(lines, (ls) => void parseSdp(ls.join('\r\n'))),
      { numRuns: 1000 },
    );
    const sdp = buildMjpegSdp(params);
    fc.assert(
      fc.property(fc.nat({ max: sdp.length }), (cut) => void parseSdp(sdp.slice(0, cut))),
      { numRuns: 300 },
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFmtp, readAacFmtp, readH264Fmtp } from '../../../common/media/av-sdp-fmtp.ts';
import { type AvSdpParams, buildAvSdp, SdpBuildError } from '../../../common/media/av-sdp.ts';
import { parseSdp } from '../../../common/wire/sdp.ts';

const sps = Buffer.from('674d400deca0a0fd80880000030008000003019078a14cb0', 'hex');
const pps = Buffer.from('68ebecb22c', 'hex');
const params: AvSdpParams = {
  sessionId: '42',
  originAddress: '10.0.0.1',
  sessionName: 'clip',
  rangeEndSec: 2,
  video: { control: 'trackID=0', sps: [sps], pps: [pps], width: 320, height: 240, fps: 25 },
  audio: { control: 'trackID=1', sampleRate: 48000, channels: 2, config: Buffer.from('1190', 'hex') },
};

function fmtpOf(sdp: string, index: number) {
  const parsed = parseSdp(sdp);
  if (!parsed.ok) throw new Error(parsed.reason);
  const f = parseFmtp(parsed.value.media[index]?.attributes.get('fmtp') ?? '');
  if (!f.ok) throw new Error(f.reason);
  return f.value;
}

describe('buildAvSdp', () => {
  it('describes H.264 and AAC in one session, each with its control', () => {
    const sdp = buildAvSdp(params);
    expect(sdp).toBe(
      [
        'v=0',
        'o=- 42 1 IN IP4 10.0.0.1',
        's=clip',
        'c=IN IP4 0.0.0.0',
        't=0 0',
        'a=control:*',
        'a=range:npt=0-2',
        'm=video 0 RTP/AVP 96',
        'a=rtpmap:96 H264/90000',
        'a=fmtp:96 packetization-mode=1;profile-level-id=4d400d;sprop-parameter-sets=' +
          `${sps.toString('base64')},${pps.toString('base64')}`,
        'a=control:trackID=0',
        'a=framerate:25',
        'a=framesize:96 320-240',
        'a=x-dimensions:320,240',
        'm=audio 0 RTP/AVP 97',
        'a=rtpmap:97 mpeg4-generic/48000/2',
        'a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;' +
          'config=1190',
        'a=control:trackID=1',
        '',
      ].join('\r\n'),
    );
  });

  it('reads back: the parameter sets and the AAC config come out as they went in', () => {
    const sdp = buildAvSdp(params);
    expect(readH264Fmtp(fmtpOf(sdp, 0))).toEqual({
      ok: true,
      value: { packetizationMode: 1, profileLevelId: '4d400d', sps: [sps], pps: [pps] },
    });
    expect(readAacFmtp(fmtpOf(sdp, 1))).toEqual({ ok: true, value: { config: Buffer.from('1190', 'hex') } });
  });

  it('leaves out the audio section for a silent movie, and announces extensions per section', () => {
    const { audio: _, ...silent } = params;
    const sdp = buildAvSdp({ ...silent, extensions: [{ id: 1, uri: 'urn:x' }] });
    expect(sdp).not.toContain('m=audio');
    expect(sdp).toContain('a=x-dimensions:320,240\r\na=extmap:1 urn:x\r\n');
  });

  it('throws for descriptions it cannot write', () => {
    expect(() => buildAvSdp({ ...params, video: { ...params.video, sps: [] } })).toThrow(SdpBuildError);
    expect(() => buildAvSdp({ ...params, video: { ...params.video, payloadType: 26 } })).toThrow(SdpBuildError);
    const audio = params.audio ?? { control: '', sampleRate: 0, channels: 0, config: Buffer.alloc(0) };
    expect(() => buildAvSdp({ ...params, audio: { ...audio, channels: 0 } })).toThrow(SdpBuildError);
    expect(() => buildAvSdp({ ...params, sessionId: 'a b' })).toThrow(SdpBuildError);
  });
});

describe('fmtp readers', () => {
  it('refuses what our depacketizers cannot follow', () => {
    const h264 = (s: string) => readH264Fmtp({ payloadType: 96, params: new Map(parseFmtpParams(s)) });
    expect(h264('packetization-mode=2')).toEqual({ ok: false, reason: 'unsupported' });
    expect(h264('sprop-parameter-sets=!!')).toEqual({ ok: false, reason: 'malformed' });
    expect(h264(`sprop-parameter-sets=${Buffer.from([0x41, 1]).toString('base64')}`)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(h264('profile-level-id=4d40')).toEqual({ ok: false, reason: 'malformed' });
    const aac = (s: string) => readAacFmtp({ payloadType: 97, params: new Map(parseFmtpParams(s)) });
    const hbr = 'mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3';
    expect(aac(`${hbr};config=1190`)).toMatchObject({ ok: true });
    expect(aac('mode=AAC-lbr;sizelength=6;indexlength=2;indexdeltalength=2;config=1190')).toEqual({
      ok: false,
      reason: 'unsupported',
    });
    expect(aac(`${hbr};ctsdeltalength=16;config=1190`)).toEqual({ ok: false, reason: 'unsupported' });
    expect(aac(`${hbr};config=119`)).toEqual({ ok: false, reason: 'malformed' });
    expect(parseFmtp('x a=b')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('never throw on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const f = parseFmtp(`96 ${s}`);
        if (f.ok) {
          readH264Fmtp(f.value);
          readAacFmtp(f.value);
        }
      }),
    );
  });
});

function parseFmtpParams(s: string): [string, string][] {
  const f = parseFmtp(`96 ${s}`);
  return f.ok ? [...f.value.params] : [];
}

/**
 * SDP (RFC 4566) for one MJPEG video stream over RTP (RFC 2435), written so that ffmpeg,
 * GStreamer rtspsrc and VLC (live555) accept it, and a small parser for reading it back.
 *
 *   v=0
 *   o=- <sess-id> 1 IN IP4 <origin>
 *   s=<name>
 *   c=IN IP4 0.0.0.0            the server picks the address in SETUP, not here
 *   t=0 0
 *   a=control:*
 *   a=range:npt=now-            or npt=0-<end> for a finite movie
 *   m=video 0 RTP/AVP 26        static payload type 26 = JPEG, clock 90 kHz (RFC 3551 §6)
 *   a=rtpmap:26 JPEG/90000
 *   a=control:trackID=0
 *   a=framerate:25
 *   a=framesize:26 W-H          RFC 2435 headers carry size / 8 up to 2040, so say it here too
 *   a=x-dimensions:W,H          the form live555 (VLC) reads
 *   a=extmap:1 URI              optional: RTP header extensions (RFC 8285) the packets carry
 */
import { type Decoded, fail, ok } from './result.ts';
import { RTP_JPEG_CLOCK_RATE, RTP_JPEG_PAYLOAD_TYPE } from './rtp-jpeg.ts';

/** SDP rides in one RTSP body. */
export const MAX_SDP_BYTES = 65536;

/** Thrown by buildMjpegSdp for parameters that would produce an invalid description. */
export class SdpBuildError extends Error {
  override readonly name = 'SdpBuildError';
}

/** What every description here starts with: the session (RFC 4566 section 5) and its RTP header extensions. */
export interface SdpSessionParams {
  /** Numeric by convention (RFC 4566 §5.2); any visible characters are written. */
  readonly sessionId: string;
  /** IPv4 or IPv6 literal, or a host name. */
  readonly originAddress: string;
  readonly sessionName: string;
  /** Length of a finite movie in seconds; omit for live. */
  readonly rangeEndSec?: number;
  /** RTP header extensions to announce (a=extmap, RFC 8285 section 5); players that do not know a URI ignore it. */
  readonly extensions?: readonly { readonly id: number; readonly uri: string }[];
}

export interface MjpegSdpParams extends SdpSessionParams {
  /** Media-level control, relative to the content base, e.g. "trackID=0". */
  readonly control: string;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
}

const VISIBLE = /^[\x21-\x7e]+$/;

/** Checks a media-level control (visible characters), for every builder. */
export function checkSdpControl(control: string): void {
  if (!VISIBLE.test(control)) throw new SdpBuildError(`invalid control ${JSON.stringify(control)}`);
}

/**
 * The session-level lines (v=, o=, s=, c=, t=, a=control:*, a=range) and the a=extmap lines each
 * media section repeats; throws SdpBuildError on a parameter that would make an invalid description.
 */
export function sdpSession(p: SdpSessionParams): { readonly lines: string[]; readonly extmaps: string[] } {
  if (!VISIBLE.test(p.sessionId)) throw new SdpBuildError(`invalid session id ${JSON.stringify(p.sessionId)}`);
  if (!VISIBLE.test(p.originAddress)) throw new SdpBuildError(`invalid origin ${JSON.stringify(p.originAddress)}`);
  if (/[\x00-\x1f\x7f]/.test(p.sessionName)) throw new SdpBuildError('session name contains control characters');
  if (p.rangeEndSec !== undefined && !(Number.isFinite(p.rangeEndSec) && p.rangeEndSec >= 0)) {
    throw new SdpBuildError(`invalid range end ${p.rangeEndSec}`);
  }
  for (const e of p.extensions ?? []) {
    // IDs 1..14 and 16..255 (RFC 8285 section 5; 15 is reserved); a URI is visible characters.
    if (!Number.isInteger(e.id) || e.id < 1 || e.id > 255 || e.id === 15) {
      throw new SdpBuildError(`invalid extension id ${e.id}`);
    }
    if (!VISIBLE.test(e.uri)) throw new SdpBuildError(`invalid extension URI ${JSON.stringify(e.uri)}`);
  }
  const addrType = p.originAddress.includes(':') ? 'IP6' : 'IP4';
  const range = p.rangeEndSec === undefined ? 'now-' : `0-${decimal(p.rangeEndSec)}`;
  const lines = [
    'v=0',
    `o=- ${p.sessionId} 1 IN ${addrType} ${p.originAddress}`,
    // RFC 4566 §5.3: s= must not be empty; a single space stands for "no name".
    `s=${p.sessionName.length > 0 ? p.sessionName : ' '}`,
    'c=IN IP4 0.0.0.0',
    't=0 0',
    'a=control:*',
    `a=range:npt=${range}`,
  ];
  return { lines, extmaps: (p.extensions ?? []).map((e) => `a=extmap:${e.id} ${e.uri}`) };
}

export function buildMjpegSdp(p: MjpegSdpParams): string {
  const session = sdpSession(p);
  checkSdpControl(p.control);
  if (!(Number.isFinite(p.fps) && p.fps > 0)) throw new SdpBuildError(`invalid frame rate ${p.fps}`);
  for (const n of [p.width, p.height]) {
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new SdpBuildError(`invalid dimension ${n}`);
  }
  const lines = [
    ...session.lines,
    `m=video 0 RTP/AVP ${RTP_JPEG_PAYLOAD_TYPE}`,
    `a=rtpmap:${RTP_JPEG_PAYLOAD_TYPE} JPEG/${RTP_JPEG_CLOCK_RATE}`,
    `a=control:${p.control}`,
    `a=framerate:${decimal(p.fps)}`,
    `a=framesize:${RTP_JPEG_PAYLOAD_TYPE} ${p.width}-${p.height}`,
    `a=x-dimensions:${p.width},${p.height}`,
    ...session.extmaps,
  ];
  return `${lines.join('\r\n')}\r\n`;
}

/** At most three decimals and no exponent: "25", "29.97", "12.5". */
export function decimal(n: number): string {
  return String(Number(n.toFixed(3)));
}

export interface SdpMedia {
  readonly media: string;
  readonly port: number;
  readonly proto: string;
  readonly formats: readonly string[];
  /** "a=name:value" as name → value; a flag "a=name" maps to "". The first of repeats wins. */
  readonly attributes: ReadonlyMap<string, string>;
}

export interface SessionDescription {
  /** Session-level attributes (before the first m= line). */
  readonly attributes: ReadonlyMap<string, string>;
  readonly media: readonly SdpMedia[];
}

/**
 * Reads attributes and media sections. Accepts CRLF or LF and ignores empty lines and line
 * types it does not use; refuses a description that does not start with v=0.
 */
export function parseSdp(text: string): Decoded<SessionDescription> {
  if (Buffer.byteLength(text, 'utf8') > MAX_SDP_BYTES) return fail('oversize');
  const lines = text.split(/\r?\n/).filter((line) => line.length > 0);
  const first = lines[0];
  if (first === undefined || !first.startsWith('v=')) return fail('malformed');
  if (first !== 'v=0') return fail('unsupported');

  const session = new Map<string, string>();
  const media: SdpMedia[] = [];
  let current = session;
  for (const line of lines.slice(1)) {
    if (!/^[a-z]=/.test(line)) return fail('malformed');
    const value = line.slice(2);
    if (line[0] === 'm') {
      // m=<media> <port>[/<number of ports>] <proto> <fmt> ...
      const [name, portText, proto, ...formats] = value.split(' ');
      const port = /^\d{1,5}(\/\d+)?$/.test(portText ?? '') ? Number.parseInt(portText ?? '', 10) : NaN;
      if (name === undefined || name.length === 0 || proto === undefined || proto.length === 0)
        return fail('malformed');
      if (!(port <= 65535) || formats.length === 0 || formats.some((f) => f.length === 0)) return fail('malformed');
      current = new Map<string, string>();
      media.push({ media: name, port, proto, formats, attributes: current });
    } else if (line[0] === 'a') {
      const colon = value.indexOf(':');
      const name = colon < 0 ? value : value.slice(0, colon);
      if (name.length === 0) return fail('malformed');
      if (!current.has(name)) current.set(name, colon < 0 ? '' : value.slice(colon + 1));
    }
  }
  return ok({ attributes: session, media });
}

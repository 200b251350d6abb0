/**
 * Structured RTSP 1.0 header values (RFC 2326 §12): Transport and Session, and the request
 * URI. Parsers return results and never throw; formatters throw RtspEncodeError on values that
 * cannot be written. (Range is never parsed: every stream is live, and PLAY answers npt=now-.)
 */
import { type Decoded, fail, ok } from './result.ts';
import { RtspEncodeError } from './rtsp.ts';

export const DEFAULT_RTSP_PORT = 554;

// ---------------------------------------------------------------------------------------------
// Transport (RFC 2326 §12.39)
//
//   Transport      = "Transport" ":" 1#transport-spec
//   transport-spec = transport-protocol/profile[/lower-transport] *parameter
//   parameter      = ( "unicast" | "multicast" ) | ";" "destination" [ "=" address ]
//                  | ";" "interleaved" "=" channel [ "-" channel ] | ";" "ttl" "=" ttl
//                  | ";" "client_port" "=" port [ "-" port ] | ";" "server_port" "=" port [ "-" port ]
//                  | ";" "ssrc" "=" ssrc | ";" "mode" "=" <"> 1#mode <"> | ...

export interface TransportSpec {
  /** RTP/AVP is RTP over UDP (RTP/AVP/UDP is its long form); RTP/AVP/TCP is interleaved on the RTSP connection. */
  readonly profile: 'RTP/AVP' | 'RTP/AVP/TCP';
  /** RFC 2326 makes multicast the default when neither word is present. */
  readonly unicast: boolean;
  readonly clientPort?: readonly [number, number];
  readonly serverPort?: readonly [number, number];
  readonly interleaved?: readonly [number, number];
  readonly ssrc?: number;
  /** Without the quotes, e.g. PLAY. */
  readonly mode?: string;
  readonly destination?: string;
  readonly source?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Parses the comma-separated alternatives of a Transport header, in the client's order of
 * preference. Alternatives with a profile other than RTP/AVP[/UDP|/TCP] are skipped ('unsupported'
 * when none is left, so the server can answer 461); unknown parameters are ignored.
 */
export function parseTransport(value: string): Decoded<TransportSpec[]> {
  const alternatives = splitOutsideQuotes(value, ',');
  if (alternatives === undefined) return fail('malformed');
  const specs: TransportSpec[] = [];
  let offered = 0;
  for (const alternative of alternatives) {
    const text = alternative.trim();
    if (text.length === 0) continue;
    offered += 1;
    const spec = parseTransportSpec(text);
    if (spec === 'malformed') return fail('malformed');
    if (spec !== 'unsupported') specs.push(spec);
  }
  if (offered === 0) return fail('malformed');
  return specs.length === 0 ? fail('unsupported') : ok(specs);
}

function parseTransportSpec(text: string): TransportSpec | 'malformed' | 'unsupported' {
  const params = splitOutsideQuotes(text, ';');
  if (params === undefined) return 'malformed';
  const protocol = (params[0] ?? '').trim().toUpperCase();
  let profile: TransportSpec['profile'];
  if (protocol === 'RTP/AVP' || protocol === 'RTP/AVP/UDP') profile = 'RTP/AVP';
  else if (protocol === 'RTP/AVP/TCP') profile = 'RTP/AVP/TCP';
  else return /^[A-Z0-9.+-]+\/[A-Z0-9.+-]+(\/[A-Z0-9.+-]+)?$/.test(protocol) ? 'unsupported' : 'malformed';

  const spec: Mutable<TransportSpec> = { profile, unicast: false };
  let cast: 'unicast' | 'multicast' | undefined;
  for (const param of params.slice(1)) {
    const eq = param.indexOf('=');
    const name = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
    const raw = eq < 0 ? undefined : unquote(param.slice(eq + 1).trim());
    switch (name) {
      case '':
        if (raw !== undefined) return 'malformed';
        break; // tolerate ";;" and a trailing ";"
      case 'unicast':
      case 'multicast':
        if (cast !== undefined && cast !== name) return 'malformed';
        cast = name;
        break;
      case 'client_port':
      case 'server_port':
      case 'interleaved': {
        const pair = parsePair(raw, name === 'interleaved' ? 255 : 65535);
        if (pair === 'malformed') return 'malformed';
        // Numbers, but no port or channel: an alternative nobody can use (461 if it is the only one).
        if (pair === 'out-of-range') return 'unsupported';
        if (name === 'client_port') spec.clientPort = pair;
        else if (name === 'server_port') spec.serverPort = pair;
        else spec.interleaved = pair;
        break;
      }
      case 'ssrc':
        // RFC 2326 says exactly 8 hex digits; some clients drop leading zeros.
        if (raw === undefined || !/^[0-9A-Fa-f]{1,8}$/.test(raw)) return 'malformed';
        spec.ssrc = Number.parseInt(raw, 16);
        break;
      case 'mode':
        if (raw === undefined || raw.length === 0) return 'malformed';
        spec.mode = raw;
        break;
      case 'destination':
      case 'source':
        // "destination" alone means "send it back to me", the same as leaving it out.
        if (raw !== undefined && raw.length > 0) spec[name] = raw;
        break;
      default:
        break;
    }
  }
  spec.unicast = cast === 'unicast';
  return spec;
}

/** "a" or "a-b", each 0..max; b defaults to a + 1 (the RTCP port or channel). */
function parsePair(raw: string | undefined, max: number): readonly [number, number] | 'malformed' | 'out-of-range' {
  const m = raw === undefined ? null : /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(raw);
  if (m === null) return 'malformed';
  const a = Number(m[1]);
  const b = m[2] === undefined ? a + 1 : Number(m[2]);
  return a <= max && b <= max ? [a, b] : 'out-of-range';
}

export function formatTransport(t: TransportSpec): string {
  const parts: string[] = [t.profile, t.unicast ? 'unicast' : 'multicast'];
  if (t.destination !== undefined) parts.push(`destination=${checkAddress(t.destination)}`);
  if (t.source !== undefined) parts.push(`source=${checkAddress(t.source)}`);
  if (t.interleaved !== undefined) parts.push(`interleaved=${formatPair(t.interleaved, 255)}`);
  if (t.clientPort !== undefined) parts.push(`client_port=${formatPair(t.clientPort, 65535)}`);
  if (t.serverPort !== undefined) parts.push(`server_port=${formatPair(t.serverPort, 65535)}`);
  if (t.ssrc !== undefined) {
    if (!Number.isInteger(t.ssrc) || t.ssrc < 0 || t.ssrc > 0xffffffff) {
      throw new RtspEncodeError(`ssrc ${t.ssrc} is not a 32-bit unsigned integer`);
    }
    parts.push(`ssrc=${t.ssrc.toString(16).toUpperCase().padStart(8, '0')}`);
  }
  if (t.mode !== undefined) {
    if (!/^[A-Za-z0-9_,-]+$/.test(t.mode))
      throw new RtspEncodeError(`invalid transport mode ${JSON.stringify(t.mode)}`);
    parts.push(`mode="${t.mode}"`);
  }
  return parts.join(';');
}

function formatPair(pair: readonly [number, number], max: number): string {
  for (const n of pair) {
    if (!Number.isInteger(n) || n < 0 || n > max) throw new RtspEncodeError(`${n} is not in 0..${max}`);
  }
  return `${pair[0]}-${pair[1]}`;
}

function checkAddress(address: string): string {
  if (!/^[A-Za-z0-9.:_-]+$/.test(address)) throw new RtspEncodeError(`invalid address ${JSON.stringify(address)}`);
  return address;
}

/** Splits on `sep` outside double quotes; undefined when a quote is left open. */
function splitOutsideQuotes(text: string, sep: string): string[] | undefined {
  const out: string[] = [];
  let quoted = false;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      out.push(text.slice(from, i));
      from = i + 1;
    }
  }
  if (quoted) return undefined;
  out.push(text.slice(from));
  return out;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

// ---------------------------------------------------------------------------------------------
// Session (RFC 2326 §12.37): Session = "Session" ":" session-id [ ";" "timeout" "=" delta-seconds ]

/** Servers in the wild use more than the RFC's session-id alphabet, so any visible ASCII is kept. */
export function parseSession(value: string): Decoded<{ id: string; timeoutSec?: number }> {
  const [rawId = '', ...params] = value.split(';');
  const id = rawId.trim();
  if (!/^[\x21-\x7e]+$/.test(id) || id.includes(',')) return fail('malformed');
  let timeoutSec: number | undefined;
  for (const param of params) {
    const eq = param.indexOf('=');
    const name = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
    if (name !== 'timeout') continue;
    const raw = eq < 0 ? '' : param.slice(eq + 1).trim();
    if (!/^\d{1,9}$/.test(raw)) return fail('malformed');
    timeoutSec = Number(raw);
  }
  return ok(timeoutSec === undefined ? { id } : { id, timeoutSec });
}

/** "ID;timeout=N". The id is held to the RFC alphabet: ALPHA / DIGIT / "$-_.+". */
export function formatSession(id: string, timeoutSec: number): string {
  if (!/^[A-Za-z0-9$\-_.+]+$/.test(id)) throw new RtspEncodeError(`invalid session id ${JSON.stringify(id)}`);
  if (!Number.isInteger(timeoutSec) || timeoutSec < 0)
    throw new RtspEncodeError(`invalid session timeout ${timeoutSec}`);
  return `${id};timeout=${timeoutSec}`;
}

// ---------------------------------------------------------------------------------------------
// Request URI (RFC 2326 §3.2): rtsp_URL = "rtsp:" "//" host [ ":" port ] [ abs_path ]

export interface RtspUrl {
  /** Empty for an absolute path or "*"; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  /** Percent-decoded, without leading or trailing '/'; "*" for the request URI "*". */
  readonly path: string;
  /** From a control suffix "trackID=N" or "streamid=N", which is removed from the path. */
  readonly trackId?: string;
}

/**
 * Parses "rtsp://host[:port]/path[/trackID=N]", an absolute path "/path" or "*". Userinfo, query
 * and fragment are dropped. Paths with "." or ".." segments or control characters are refused,
 * so a path can safely name a file.
 */
export function parseRtspUrl(uri: string): Decoded<RtspUrl> {
  if (uri === '*') return ok({ host: '', port: DEFAULT_RTSP_PORT, path: '*' });
  let host = '';
  let port = DEFAULT_RTSP_PORT;
  let rest: string;
  if (uri.startsWith('/')) {
    rest = uri;
  } else {
    const scheme = /^rtsp:\/\//i.exec(uri);
    if (scheme === null) return fail(/^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri) ? 'unsupported' : 'malformed');
    const afterScheme = uri.slice(scheme[0].length);
    const authorityEnd = afterScheme.search(/[/?#]/);
    const authority = authorityEnd < 0 ? afterScheme : afterScheme.slice(0, authorityEnd);
    rest = authorityEnd < 0 ? '' : afterScheme.slice(authorityEnd);
    const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._~-]+))(?::(\d{0,5}))?$/.exec(hostPort);
    if (m === null) return fail('malformed');
    host = m[1] ?? m[2] ?? '';
    if (m[3] !== undefined && m[3].length > 0) {
      port = Number(m[3]);
      if (port < 1 || port > 65535) return fail('malformed');
    }
  }

  const pathEnd = rest.search(/[?#]/);
  // Empty segments ("//", a trailing '/') carry no name: "rtsp://h//bars/" is "bars".
  const segments = (pathEnd < 0 ? rest : rest.slice(0, pathEnd)).split('/').filter((seg) => seg.length > 0);
  let trackId: string | undefined;
  const control = /^(?:trackid|streamid)=([A-Za-z0-9_.-]+)$/i.exec(segments[segments.length - 1] ?? '');
  if (control !== null) {
    trackId = control[1];
    segments.pop();
  }
  let path: string;
  try {
    path = decodeURIComponent(segments.join('/'));
  } catch {
    return fail('malformed'); // bad %-escape or invalid UTF-8
  }
  // Checked after decoding, so "%2F", "%2E%2E" and "%00" cannot smuggle in what the raw form lacks.
  if (
    /[\x00-\x1f\x7f]/.test(path) ||
    (path.length > 0 && path.split('/').some((s) => s === '' || s === '.' || s === '..'))
  ) {
    return fail('malformed');
  }
  return ok(trackId === undefined ? { host, port, path } : { host, port, path, trackId });
}

// ---------------------------------------------------------------------------------------------
// X-Last-Frame (ours): on PLAY, the last frame the player has shown, so that a POP's fast start
// does not send it again (after a failover the player already has the newest frame).
//
//   X-Last-Frame = "X-Last-Frame" ":" "ssrc" "=" 1*8HEX ";" "rtptime" "=" 1*10DIGIT

/** The header's name; players that do not send it (ffmpeg) get the fast start as before. */
export const LAST_FRAME_HEADER = 'X-Last-Frame';

export interface LastFrame {
  readonly ssrc: number;
  /** The frame's RTP timestamp, 0..2^32-1. */
  readonly rtptime: number;
}

export function formatLastFrame(f: LastFrame): string {
  const ok32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
  if (!ok32(f.ssrc) || !ok32(f.rtptime)) throw new RtspEncodeError(`bad ${LAST_FRAME_HEADER}: ${f.ssrc}/${f.rtptime}`);
  return `ssrc=${f.ssrc.toString(16).toUpperCase().padStart(8, '0')};rtptime=${f.rtptime}`;
}

/** Parameters in any order, names in any case; anything else (or a value out of range) is malformed. */
export function parseLastFrame(value: string): Decoded<LastFrame> {
  if (value.length > 64) return fail('malformed');
  let ssrc: number | undefined;
  let rtptime: number | undefined;
  for (const param of value.split(';')) {
    const m = /^\s*([A-Za-z]+)\s*=\s*([0-9A-Fa-f]+)\s*$/.exec(param);
    if (m === null) return fail('malformed');
    const name = (m[1] ?? '').toLowerCase();
    const raw = m[2] ?? '';
    if (name === 'ssrc' && raw.length <= 8) ssrc = Number.parseInt(raw, 16);
    else if (name === 'rtptime' && /^\d{1,10}$/.test(raw) && Number(raw) <= 0xffff_ffff) rtptime = Number(raw);
    else return fail('malformed');
  }
  return ssrc === undefined || rtptime === undefined ? fail('malformed') : ok({ ssrc, rtptime });
}

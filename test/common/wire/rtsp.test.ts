import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  decodeRtspMessage,
  encodeInterleaved,
  encodeRequest,
  encodeResponse,
  header,
  MAX_BODY_BYTES,
  MAX_HEADER_BYTES,
  MAX_HEADER_COUNT,
  reasonPhrase,
  RtspEncodeError,
  type RtspMessage,
  RtspStreamDecoder,
} from '../../../common/wire/rtsp.ts';

const sdp = Buffer.from('v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=bars\r\nt=0 0\r\nm=video 0 RTP/AVP 26\r\n');
const text = (s: string): Buffer => Buffer.from(s, 'latin1');

function decoded(buf: Buffer): RtspMessage {
  const r = decodeRtspMessage(buf);
  if (!r.ok) throw new Error(`refused: ${r.reason}`);
  expect(r.consumed).toBe(buf.length);
  return r.value;
}

/** A realistic client/server exchange, as one TCP byte stream per direction would carry it. */
const session: Buffer[] = [
  encodeRequest({
    method: 'OPTIONS',
    uri: 'rtsp://10.0.0.1:8554/bars',
    headers: { CSeq: 1, 'User-Agent': 'oclient/0.1' },
  }),
  encodeResponse({ status: 200, headers: { CSeq: 1, Public: 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN' } }),
  encodeRequest({
    method: 'DESCRIBE',
    uri: 'rtsp://10.0.0.1:8554/bars',
    headers: { CSeq: 2, Accept: 'application/sdp' },
  }),
  encodeResponse({
    status: 200,
    headers: { CSeq: 2, 'Content-Base': 'rtsp://10.0.0.1:8554/bars/', 'Content-Type': 'application/sdp' },
    body: sdp,
  }),
  encodeRequest({
    method: 'SETUP',
    uri: 'rtsp://10.0.0.1:8554/bars/trackID=0',
    headers: { CSeq: 3, Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' },
  }),
  encodeResponse({
    status: 200,
    headers: { CSeq: 3, Session: '12345678;timeout=60', Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' },
  }),
  encodeRequest({
    method: 'PLAY',
    uri: 'rtsp://10.0.0.1:8554/bars/',
    headers: { CSeq: 4, Session: '12345678', Range: 'npt=0.000-' },
  }),
  encodeInterleaved(0, Buffer.from([0x80, 0x9a, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xd8])),
  encodeInterleaved(1, Buffer.alloc(0)),
  encodeResponse({ status: 454 }),
];

describe('RTSP encode → decode', () => {
  it('round-trips requests with their headers and body', () => {
    const req = decoded(
      encodeRequest({
        method: 'ANNOUNCE',
        uri: 'rtsp://h/x',
        headers: { CSeq: 7, 'Content-Type': 'application/sdp' },
        body: sdp,
      }),
    );
    expect(req).toEqual({
      type: 'request',
      method: 'ANNOUNCE',
      uri: 'rtsp://h/x',
      headers: new Map([
        ['cseq', '7'],
        ['content-type', 'application/sdp'],
        ['content-length', String(sdp.length)],
      ]),
      body: sdp,
    });
    expect(header(req as { headers: ReadonlyMap<string, string> }, 'CSeq')).toBe('7');
  });

  it('round-trips responses, with the standard reason phrase by default', () => {
    expect(encodeResponse({ status: 461, headers: { CSeq: 3 } }).toString()).toBe(
      'RTSP/1.0 461 Unsupported transport\r\nCSeq: 3\r\n\r\n',
    );
    expect(decoded(encodeResponse({ status: 200, reason: 'Fine', headers: { CSeq: 1 }, body: sdp }))).toMatchObject({
      type: 'response',
      status: 200,
      reason: 'Fine',
      body: sdp,
    });
    expect(reasonPhrase(299)).toBe('Success');
    expect(reasonPhrase(999)).toBe('Unknown');
  });

  it('round-trips interleaved frames on every channel', () => {
    for (const channel of [0, 1, 255]) {
      const payload = Buffer.alloc(channel * 3, channel);
      expect(decoded(encodeInterleaved(channel, payload))).toEqual({ type: 'interleaved', channel, payload });
    }
    const max = Buffer.alloc(65535, 7);
    const frame = decoded(encodeInterleaved(2, max));
    expect(frame.type === 'interleaved' && frame.channel === 2 && frame.payload.equals(max)).toBe(true);
  });

  it('decodes a pipelined session message by message', () => {
    let buf = Buffer.concat(session);
    const types: string[] = [];
    while (buf.length > 0) {
      const r = decodeRtspMessage(buf);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      types.push(r.value.type);
      buf = buf.subarray(r.consumed);
    }
    expect(types).toEqual([
      'request',
      'response',
      'request',
      'response',
      'request',
      'response',
      'request',
      'interleaved',
      'interleaved',
      'response',
    ]);
  });

  it('ignores a caller-supplied Content-Length and always writes the true one', () => {
    const buf = encodeRequest({
      method: 'SET_PARAMETER',
      uri: '*',
      headers: { 'Content-Length': 999 },
      body: Buffer.from('a'),
    });
    expect(buf.toString()).toBe('SET_PARAMETER * RTSP/1.0\r\nContent-Length: 1\r\n\r\na');
  });

  it('throws RtspEncodeError for what cannot go on the wire', () => {
    expect(() => encodeRequest({ method: 'PL AY', uri: '*' })).toThrow(RtspEncodeError);
    expect(() => encodeRequest({ method: 'PLAY', uri: '' })).toThrow(RtspEncodeError);
    expect(() => encodeRequest({ method: 'PLAY', uri: 'rtsp://h/a b' })).toThrow(RtspEncodeError);
    expect(() => encodeRequest({ method: 'PLAY', uri: '*', headers: { 'Bad Name': 1 } })).toThrow(RtspEncodeError);
    expect(() => encodeRequest({ method: 'PLAY', uri: '*', headers: { CSeq: '1\r\nX: injected' } })).toThrow(
      RtspEncodeError,
    );
    expect(() => encodeRequest({ method: 'PLAY', uri: '*', headers: { CSeq: Number.NaN } })).toThrow(RtspEncodeError);
    expect(() => encodeRequest({ method: 'PLAY', uri: '*', body: Buffer.alloc(MAX_BODY_BYTES + 1) })).toThrow(
      RtspEncodeError,
    );
    const many = Object.fromEntries(Array.from({ length: MAX_HEADER_COUNT + 1 }, (_, i) => [`X-${i}`, i]));
    expect(() => encodeRequest({ method: 'PLAY', uri: '*', headers: many })).toThrow(RtspEncodeError);
    expect(() => encodeRequest({ method: 'PLAY', uri: '*', headers: { X: 'a'.repeat(MAX_HEADER_BYTES) } })).toThrow(
      RtspEncodeError,
    );
    expect(() => encodeResponse({ status: 99 })).toThrow(RtspEncodeError);
    expect(() => encodeResponse({ status: 200, reason: 'O\nK' })).toThrow(RtspEncodeError);
    expect(() => encodeInterleaved(256, Buffer.alloc(0))).toThrow(RtspEncodeError);
    expect(() => encodeInterleaved(0, Buffer.alloc(65536))).toThrow(RtspEncodeError);
  });
});

describe('decodeRtspMessage leniency', () => {
  it('accepts bare LF, leading empty lines, odd header spacing and joins repeated headers', () => {
    const r = decodeRtspMessage(text('\r\n\nOPTIONS * RTSP/1.0\nCSeq:5\nX-A: 1 \r\nx-a:\t2\n\n'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ type: 'request', method: 'OPTIONS', uri: '*' });
    expect(r.value.type === 'request' && Object.fromEntries(r.value.headers)).toEqual({ cseq: '5', 'x-a': '1, 2' });
  });

  it('accepts a status line without a reason phrase and leading zeros in Content-Length', () => {
    expect(decoded(text('RTSP/1.0 200\r\nContent-Length: 0003\r\n\r\nabc'))).toMatchObject({
      status: 200,
      reason: '',
      body: text('abc'),
    });
  });

  it('accepts a header block of exactly MAX_HEADER_BYTES', () => {
    const start = 'OPTIONS * RTSP/1.0\r\nX: ';
    const pad = MAX_HEADER_BYTES - start.length - 4;
    const buf = text(`${start}${'a'.repeat(pad)}\r\n\r\n`);
    expect(buf.length).toBe(MAX_HEADER_BYTES);
    expect(decodeRtspMessage(buf).ok).toBe(true);
  });
});

describe('decodeRtspMessage rejections', () => {
  it("'need-more' for every strict prefix of every message", () => {
    for (const msg of session) {
      for (let cut = 0; cut < msg.length; cut++) {
        expect(decodeRtspMessage(msg.subarray(0, cut)), `${cut} of ${msg.toString('latin1')}`).toEqual({
          ok: false,
          reason: 'need-more',
        });
      }
    }
  });

  it("'malformed' for garbage and broken syntax", () => {
    const bad = [
      '\x00\x01\x02\x03',
      'hello\r\n\r\n',
      ' OPTIONS * RTSP/1.0\r\n\r\n',
      'OPTIONS  * RTSP/1.0\r\n\r\n',
      'OPTIONS * RTSP/1.0 extra\r\n\r\n',
      'OPTIONS *\r\n\r\n',
      'OPT(IONS * RTSP/1.0\r\n\r\n',
      'OPTIONS * RTSP1.0\r\n\r\n',
      'RTSP/1.0 OK\r\n\r\n',
      'RTSP/1.0 099 Low\r\n\r\n',
      'RTSP/1.0 20 OK\r\n\r\n',
      'RTSP/x.y 200 OK\r\n\r\n',
      'OPTIONS * RTSP/1.0\r\nno colon here\r\n\r\n',
      'OPTIONS * RTSP/1.0\r\n: empty name\r\n\r\n',
      'OPTIONS * RTSP/1.0\r\nBad Name: x\r\n\r\n',
      'OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n folded: continuation\r\n\r\n',
      'OPTIONS * RTSP/1.0\rCSeq: 1\r\n\r\n',
      'OPTIONS * RTSP/1.0\r\nX: a\x00b\r\n\r\n',
      'OPTIONS * RTSP/1.0\r\nContent-Length: -1\r\n\r\n',
      'OPTIONS * RTSP/1.0\r\nContent-Length: 1.5\r\n\r\n',
      'OPTIONS * RTSP/1.0\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab',
    ];
    for (const s of bad)
      expect(decodeRtspMessage(text(s)), JSON.stringify(s)).toEqual({ ok: false, reason: 'malformed' });
  });

  it("'malformed' as soon as the first line is wrong, without waiting for the rest", () => {
    expect(decodeRtspMessage(text('GARBAGE\x01'))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeRtspMessage(text('hello world\n'))).toEqual({ ok: false, reason: 'malformed' });
  });

  it("'unsupported' for other protocol versions", () => {
    for (const s of [
      'OPTIONS * RTSP/2.0\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
      'RTSP/2.0 200 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\n\r\n',
    ]) {
      expect(decodeRtspMessage(text(s)), s).toEqual({ ok: false, reason: 'unsupported' });
    }
    // Known at the end of the first line, before the headers are complete.
    expect(decodeRtspMessage(text('OPTIONS * RTSP/2.0\r\nCSeq: 1'))).toEqual({ ok: false, reason: 'unsupported' });
  });

  it("'oversize' for header blocks, header counts and bodies over the limits", () => {
    expect(decodeRtspMessage(text(`OPTIONS * RTSP/1.0\r\nX: ${'a'.repeat(MAX_HEADER_BYTES)}`))).toEqual({
      ok: false,
      reason: 'oversize',
    });
    expect(decodeRtspMessage(text(`OPTIONS * RTSP/1.0\r\nX: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`))).toEqual({
      ok: false,
      reason: 'oversize',
    });
    const many = Array.from({ length: MAX_HEADER_COUNT + 1 }, (_, i) => `X-${i}: ${i}\r\n`).join('');
    expect(decodeRtspMessage(text(`OPTIONS * RTSP/1.0\r\n${many}\r\n`))).toEqual({ ok: false, reason: 'oversize' });
    for (const length of [MAX_BODY_BYTES + 1, '99999999999999999999']) {
      expect(decodeRtspMessage(text(`OPTIONS * RTSP/1.0\r\nContent-Length: ${length}\r\n\r\n`))).toEqual({
        ok: false,
        reason: 'oversize',
      });
    }
    expect(decodeRtspMessage(text('\r\n'.repeat(MAX_HEADER_BYTES / 2)))).toEqual({ ok: false, reason: 'oversize' });
  });

  it('never throws on random bytes or random text, and consumes within bounds', () => {
    const check = (buf: Buffer): void => {
      const r = decodeRtspMessage(buf);
      if (r.ok) {
        expect(r.consumed).toBeGreaterThan(0);
        expect(r.consumed).toBeLessThanOrEqual(buf.length);
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => check(Buffer.from(b))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => check(Buffer.from(s))),
      { numRuns: 2000 },
    );
    const line = fc.oneof(
      fc.constantFrom(
        'OPTIONS * RTSP/1.0',
        'RTSP/1.0 200 OK',
        'CSeq: 1',
        'Content-Length: 3',
        'Content-Length: x',
        '',
        ' x',
        'abc',
      ),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.constantFrom('\r\n', '\n', '\r'), (lines, eol) => {
        check(Buffer.from(lines.join(eol)));
      }),
      { numRuns: 2000 },
    );
  });

  it('truncated text is need-more or a refusal, never a message', () => {
    const whole = Buffer.concat(session);
    fc.assert(
      fc.property(fc.nat({ max: session[0]!.length - 1 }), (cut) => {
        expect(decodeRtspMessage(whole.subarray(0, cut)).ok).toBe(false);
      }),
    );
  });
});

describe('RtspStreamDecoder', () => {
  const stream = Buffer.concat(session);
  const expected = (() => {
    const d = new RtspStreamDecoder();
    return d.push(stream).messages;
  })();

  it('decodes a whole session pushed at once', () => {
    expect(expected).toHaveLength(session.length);
    expect(expected.map(({ type }) => type)).toEqual(session.map((m) => decoded(m).type));
  });

  it('yields the same messages when fed byte by byte', () => {
    const d = new RtspStreamDecoder();
    const got: RtspMessage[] = [];
    for (let i = 0; i < stream.length; i++) {
      const r = d.push(stream.subarray(i, i + 1));
      expect(r.error).toBeUndefined();
      got.push(...r.messages);
    }
    expect(got).toEqual(expected);
    expect(d.bufferedBytes).toBe(0);
  });

  it('yields the same messages for any split into chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 30 }), (cuts) => {
        const points = [0, ...[...cuts].sort((a, b) => a - b), stream.length];
        const d = new RtspStreamDecoder();
        const got: RtspMessage[] = [];
        for (let i = 1; i < points.length; i++) got.push(...d.push(stream.subarray(points[i - 1], points[i])).messages);
        expect(got).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps only the partial message buffered', () => {
    const d = new RtspStreamDecoder();
    const first = session[0]!;
    const r = d.push(Buffer.concat([first, session[1]!.subarray(0, 10)]));
    expect(r.messages).toHaveLength(1);
    expect(d.bufferedBytes).toBe(10);
  });

  it('does linear work for a large body trickled a byte at a time', () => {
    const big = encodeResponse({ status: 200, headers: { CSeq: 9 }, body: Buffer.alloc(MAX_BODY_BYTES, 0x61) });
    const d = new RtspStreamDecoder();
    const got: RtspMessage[] = [];
    // Bytes copied, not milliseconds (a loaded machine makes any time bound flaky): joining what is
    // buffered on every byte copies about big.length² / 2 bytes (2 GB here), linear work a few times big.length.
    const copied = bytesCopiedWhile(() => {
      for (let i = 0; i < big.length; i++) got.push(...d.push(big.subarray(i, i + 1)).messages);
    });
    expect(got).toHaveLength(1);
    const msg = got[0];
    expect(msg?.type === 'response' && msg.body.equals(Buffer.alloc(MAX_BODY_BYTES, 0x61))).toBe(true);
    expect(copied).toBeGreaterThanOrEqual(big.length);
    expect(copied).toBeLessThan(3 * big.length);
  });

  it('stops on the first fatal error, keeps what came before, and stays failed', () => {
    const d = new RtspStreamDecoder();
    const r = d.push(Buffer.concat([session[0]!, text('GET / HTTP/1.1\r\n\r\n'), session[1]!]));
    expect(r.messages).toHaveLength(1);
    expect(r.error).toBe('unsupported');
    expect(d.error).toBe('unsupported');
    expect(d.push(session[2]!)).toEqual({ messages: [], error: 'unsupported' });
    expect(d.bufferedBytes).toBe(0);
  });

  it('fails with oversize rather than buffering an endless header', () => {
    const d = new RtspStreamDecoder();
    d.push(text('OPTIONS * RTSP/1.0\r\n'));
    let error: string | undefined;
    for (let i = 0; i < 1000 && error === undefined; i++) error = d.push(text('X-Pad: aaaaaaaaaaaaaaaaaaaa\r\n')).error;
    expect(error).toBe('oversize');
    expect(d.bufferedBytes).toBe(0);
  });

  it('never throws on random chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 60 }), { maxLength: 20 }), (chunks) => {
        const d = new RtspStreamDecoder();
        for (const c of chunks) d.push(Buffer.from(c));
        expect(d.bufferedBytes).toBeLessThanOrEqual(MAX_HEADER_BYTES + MAX_BODY_BYTES);
      }),
      { numRuns: 1000 },
    );
  });

  it('does not let later pushes corrupt bodies already returned', () => {
    const d = new RtspStreamDecoder();
    const chunk = Buffer.from(session[3]!);
    const [msg] = d
      .push(chunk.subarray(0, chunk.length - 1))
      .messages.concat(d.push(chunk.subarray(chunk.length - 1)).messages);
    d.push(Buffer.from(session[0]!));
    expect(msg).toMatchObject({ body: sdp });
  });
});

/** Bytes that Buffer.concat and Buffer.from(buffer) copy while `fn` runs. */
function bytesCopiedWhile(fn: () => void): number {
  let copied = 0;
  const concat = Buffer.concat;
  const from = Buffer.from;
  const concatSpy = vi.spyOn(Buffer, 'concat').mockImplementation((list, total) => {
    const out = concat(list, total);
    copied += out.length;
    return out;
  });
  const fromSpy = vi.spyOn(Buffer, 'from').mockImplementation(((...args: Parameters<typeof Buffer.from>) => {
    const out = (from as (...a: unknown[]) => Buffer)(...args);
    if (Buffer.isBuffer(args[0])) copied += out.length;
    return out;
  }) as typeof Buffer.from);
  try {
    fn();
  } finally {
    concatSpy.mockRestore();
    fromSpy.mockRestore();
  }
  return copied;
}

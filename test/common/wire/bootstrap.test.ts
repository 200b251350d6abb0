import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_ADDRESSES,
  MAX_DETAIL_CHARS,
  MAX_NEIGHBOURS,
  MAX_POPS,
  MAX_REASON_CHARS,
  MAX_SERVER_KEYS,
  MAX_WELCOME_MOVIES,
  MAX_CLOCK_MS,
} from '../../../common/wire/bootstrap-schema.ts';
import { MAX_MOVIE_NAME_BYTES, MAX_NODE_NAME_BYTES } from '../../../common/wire/names.ts';
import {
  decodeBootstrap,
  decodeSealedBody,
  encodeBootstrap,
  LineSplitter,
  MAX_LINE_FROM_BOOTSTRAPPER,
  MAX_LINE_TO_BOOTSTRAPPER,
  type BootstrapMessage,
  type NeighbourInfo,
} from '../../../common/wire/bootstrap.ts';

const B32 = Buffer.alloc(32, 7).toString('base64');
const B31 = Buffer.alloc(31).toString('base64');
const key = { server: 's1', key: B32 };
const movie = { name: 'bars.mjpeg', fps: 25, width: 320, height: 240, frames: 500 };
const neighbour: NeighbourInfo = {
  name: 'o3',
  role: 'node',
  address: '10.0.26.2',
  localAddress: '10.0.26.1',
  delayMs: 2,
  lossPct: 0.5,
  rateKbps: null,
  up: true,
};
const registered = {
  type: 'registered',
  name: 'o4',
  role: 'node',
  addresses: ['10.0.26.1'],
  clientAddresses: [],
  neighbours: [neighbour, { ...neighbour, name: 's2', role: 'server', rateKbps: 10_000, up: false }],
  emulateLinks: true,
  serverKeys: [{ server: 's1', key: B32 }],
} as const satisfies BootstrapMessage;
const welcome = {
  type: 'welcome',
  pops: [{ name: 'o5', addresses: ['10.0.6.2'] }],
  catalogue: [movie],
  serverKeys: [
    { server: 's1', key: B32 },
    { server: 's2', key: Buffer.alloc(32, 9).toString('base64') },
  ],
} as const satisfies BootstrapMessage;

const messages: BootstrapMessage[] = [
  { type: 'register', pid: 4242, nonce: B32 },
  { type: 'challenge', name: 'o4', nonce: B32 },
  { type: 'prove', mac: B32 },
  { type: 'prove', mac: B32, signingKey: B32 },
  { type: 'sealed', seq: 3, body: JSON.stringify(registered), mac: B32 },
  registered,
  { type: 'neighbour-up', name: 'o3' },
  { type: 'neighbour-down', name: 'o3' },
  { type: 'server-key', server: 's2', key: B32 },
  { type: 'login' },
  { type: 'time', id: 1, t0: 1_764_301_312_345.678 },
  { type: 'time', id: 2, t0: -5000.25, at: 1_764_301_312_346.5 },
  welcome,
  { type: 'error', reason: 'bad-proof', detail: 'wrong overlay secret' },
];

/** The line of `msg` with some fields replaced. */
function line(msg: BootstrapMessage, patch: Record<string, unknown>): string {
  return JSON.stringify({ ...msg, ...patch });
}

describe('bootstrap codec round trips', () => {
  it.each(messages.map((m) => [m.type, m] as const))('%s', (_type, msg) => {
    const text = encodeBootstrap(msg);
    expect(text.endsWith('\n')).toBe(true);
    expect(decodeBootstrap(text.trimEnd())).toEqual({ ok: true, value: msg });
  });

  it('drops unknown fields', () => {
    expect(decodeBootstrap('{"type":"login","admin":true}')).toEqual({ ok: true, value: { type: 'login' } });
  });
});

describe('bootstrap codec rejections', () => {
  it('is not JSON, or not an object', () => {
    for (const bad of ['', 'nope', '{"type":"login"', '[1,2]', 'null', '42', '"login"']) {
      expect(decodeBootstrap(bad), bad).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('has no type, or one that is not ours', () => {
    expect(decodeBootstrap('{}')).toEqual({ ok: false, reason: 'unsupported' });
    expect(decodeBootstrap('{"type":7}')).toEqual({ ok: false, reason: 'unsupported' });
    expect(decodeBootstrap('{"type":"shutdown"}')).toEqual({ ok: false, reason: 'unsupported' });
  });

  it('is longer than the limit', () => {
    expect(decodeBootstrap(`{"type":"login","x":"${'a'.repeat(100)}"}`, 50)).toEqual({ ok: false, reason: 'oversize' });
  });

  const malformed: [string, string][] = [
    ['role: banana', line(registered, { role: 'banana' })],
    ['neighbour role: banana', line(registered, { neighbours: [{ ...neighbour, role: 'banana' }] })],
    ['address not IPv4', line(registered, { addresses: ['10.0.0.256'] })],
    ['address a hostname', line(registered, { addresses: ['example.org'] })],
    ['no address', line(registered, { addresses: [] })],
    ['client address IPv6', line(registered, { clientAddresses: ['::1'] })],
    ['neighbour address missing', line(registered, { neighbours: [{ ...neighbour, address: undefined }] })],
    ['delay negative', line(registered, { neighbours: [{ ...neighbour, delayMs: -1 }] })],
    ['delay not finite (1e999 is Infinity)', JSON.stringify(registered).replace('"delayMs":2', '"delayMs":1e999')],
    ['loss over 100 %', line(registered, { neighbours: [{ ...neighbour, lossPct: 101 }] })],
    ['rate zero', line(registered, { neighbours: [{ ...neighbour, rateKbps: 0 }] })],
    ['up a string', line(registered, { neighbours: [{ ...neighbour, up: 'yes' }] })],
    ['emulateLinks missing', line(registered, { emulateLinks: undefined })],
    ['serverKeys missing', line(registered, { serverKeys: undefined })],
    ['key not 32 bytes', line(registered, { serverKeys: [{ server: 's1', key: B31 }] })],
    ['key not base64', line(registered, { serverKeys: [{ server: 's1', key: `${'!'.repeat(43)}=` }] })],
    ['name empty', line(registered, { name: '' })],
    ['name with a slash', line(registered, { name: '../o4' })],
    ['name too long', line(registered, { name: `o${'x'.repeat(MAX_NODE_NAME_BYTES)}` })],
    ['too many neighbours', line(registered, { neighbours: Array(MAX_NEIGHBOURS + 1).fill(neighbour) })],
    ['too many addresses', line(registered, { addresses: Array(MAX_ADDRESSES + 1).fill('10.0.0.1') })],
    ['too many server keys', line(registered, { serverKeys: Array(MAX_SERVER_KEYS + 1).fill(key) })],
    ['register pid negative', `{"type":"register","pid":-1,"nonce":"${B32}"}`],
    ['register pid fractional', `{"type":"register","pid":1.5,"nonce":"${B32}"}`],
    ['register without nonce', '{"type":"register","pid":1}'],
    ['register short nonce', '{"type":"register","pid":1,"nonce":"AAAA"}'],
    ['challenge without name', `{"type":"challenge","nonce":"${B32}"}`],
    ['prove mac a number', '{"type":"prove","mac":5}'],
    ['prove key short', `{"type":"prove","mac":"${B32}","signingKey":"AAAA"}`],
    ['sealed seq negative', `{"type":"sealed","seq":-1,"body":"{}","mac":"${B32}"}`],
    ['sealed body an object', `{"type":"sealed","seq":0,"body":{},"mac":"${B32}"}`],
    ['neighbour-up name a number', '{"type":"neighbour-up","name":4}'],
    ['server-key without key', '{"type":"server-key","server":"s1"}'],
    ['welcome pop without address', line(welcome, { pops: [{ name: 'o5', addresses: [] }] })],
    ['welcome too many pops', line(welcome, { pops: Array(MAX_POPS + 1).fill(welcome.pops[0]) })],
    ['welcome movie fps 0', line(welcome, { catalogue: [{ ...movie, fps: 0 }] })],
    ['welcome movie width fractional', line(welcome, { catalogue: [{ ...movie, width: 1.5 }] })],
    ['welcome movie name empty', line(welcome, { catalogue: [{ ...movie, name: '' }] })],
    ['welcome movie name too long', line(welcome, { catalogue: [{ ...movie, name: 'é'.repeat(128) }] })],
    ['welcome too many movies', line(welcome, { catalogue: Array(MAX_WELCOME_MOVIES + 1).fill(movie) })],
    ['welcome without serverKeys', line(welcome, { serverKeys: undefined })],
    ['error detail too long', `{"type":"error","reason":"x","detail":"${'d'.repeat(MAX_DETAIL_CHARS + 1)}"}`],
    ['error without reason', '{"type":"error","detail":"x"}'],
  ];
  it.each(malformed)('%s', (_what, text) => {
    expect(decodeBootstrap(text)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('takes movie names of up to 255 bytes and 10,000 movies', () => {
    const name = (i: number): string => `${i}`.padEnd(MAX_MOVIE_NAME_BYTES, 'm');
    const movies = Array.from({ length: 10_000 }, (_, i) => ({ ...movie, name: name(i) }));
    const text = line(welcome, { catalogue: movies });
    expect(text.length).toBeGreaterThan(3_000_000);
    expect(text.length).toBeLessThan(MAX_LINE_FROM_BOOTSTRAPPER);
    const d = decodeBootstrap(text);
    expect(d.ok && d.value.type === 'welcome' && d.value.catalogue.length).toBe(10_000);
  });

  it('a sealed body carries only what the bootstrapper may tell a node', () => {
    expect(decodeSealedBody(JSON.stringify(registered))).toEqual({ ok: true, value: registered });
    expect(decodeSealedBody(`{"type":"server-key","server":"s2","key":"${B32}"}`).ok).toBe(true);
    const unsupported = { ok: false, reason: 'unsupported' };
    expect(decodeSealedBody('{"type":"welcome","pops":[],"catalogue":[],"serverKeys":[]}')).toEqual(unsupported);
    expect(decodeSealedBody(`{"type":"sealed","seq":0,"body":"{}","mac":"${B32}"}`)).toEqual(unsupported);
    expect(decodeSealedBody(line(registered, { role: 'banana' }))).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('bootstrap codec: time', () => {
  const ask = { type: 'time', id: 7, t0: 1000.5 } as const satisfies BootstrapMessage;
  it('a clock reading is a finite number within ±MAX_CLOCK_MS; an id a safe integer from 0', () => {
    const malformed = { ok: false, reason: 'malformed' };
    expect(decodeBootstrap(line(ask, { t0: MAX_CLOCK_MS })).ok).toBe(true);
    expect(decodeBootstrap(line(ask, { t0: MAX_CLOCK_MS * 2 }))).toEqual(malformed);
    expect(decodeBootstrap(line(ask, { t0: -MAX_CLOCK_MS * 2 }))).toEqual(malformed);
    expect(decodeBootstrap(line(ask, { t0: '1000' }))).toEqual(malformed);
    expect(decodeBootstrap(line(ask, { t0: null }))).toEqual(malformed); // what JSON makes of NaN and Infinity
    expect(decodeBootstrap(line(ask, { at: 1e300 }))).toEqual(malformed);
    expect(decodeBootstrap(line(ask, { id: -1 }))).toEqual(malformed);
    expect(decodeBootstrap(line(ask, { id: 1.5 }))).toEqual(malformed);
    expect(decodeBootstrap(line(ask, { id: 2 ** 53 }))).toEqual(malformed);
  });

  it('sealed, only the answer (with the reference’s time) is taken', () => {
    expect(decodeSealedBody(JSON.stringify({ ...ask, at: 5 }))).toEqual({ ok: true, value: { ...ask, at: 5 } });
    expect(decodeSealedBody(JSON.stringify(ask))).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('bootstrap codec never throws', () => {
  it('on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        expect(typeof decodeBootstrap(s).ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('on random JSON, with or without a known type', () => {
    const types = fc.constantFrom(...messages.map((m) => m.type), 'banana');
    const fields = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }));
    fc.assert(
      fc.property(types, fields, (type, fields) => {
        const d = decodeBootstrap(JSON.stringify({ ...fields, type }));
        if (type === 'banana') expect(d).toEqual({ ok: false, reason: 'unsupported' });
        else expect(typeof d.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('on valid messages with one field replaced by anything', () => {
    fc.assert(
      fc.property(fc.constantFrom(...messages), fc.jsonValue({ maxDepth: 2 }), fc.nat(), (msg, value, pick) => {
        const keys = Object.keys(msg).filter((k) => k !== 'type');
        if (keys.length === 0) return;
        const key = keys[pick % keys.length] as string;
        const d = decodeBootstrap(line(msg, { [key]: value }));
        expect(typeof d.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('LineSplitter', () => {
  it('splits lines across chunks and skips blank ones', () => {
    const s = new LineSplitter(100);
    expect(s.push(Buffer.from('{"a":1}\n{"b"'))).toEqual(['{"a":1}']);
    expect(s.push(Buffer.from(':2}\n\n  \n{"c":3}\n'))).toEqual(['{"b":2}', '{"c":3}']);
    expect(s.push(Buffer.from(''))).toEqual([]);
  });

  it('keeps a multi-byte character split between chunks', () => {
    const bytes = Buffer.from('{"name":"é✓"}\n');
    const s = new LineSplitter(100);
    const got = [...bytes].flatMap((b) => s.push(Buffer.from([b])) ?? ['(refused)']);
    expect(got).toEqual(['{"name":"é✓"}']);
  });

  it('refuses a line longer than its limit, ended or not', () => {
    expect(new LineSplitter(10).push(Buffer.from('12345678901\n'))).toBeNull();
    const s = new LineSplitter(10);
    expect(s.push(Buffer.from('123456'))).toEqual([]);
    expect(s.push(Buffer.from('78901'))).toBeNull();
    expect(new LineSplitter(10).push(Buffer.from('1234567890\n'))).toEqual(['1234567890']);
  });

  it('the limits: tiny towards the bootstrapper, large from it', () => {
    expect(MAX_LINE_TO_BOOTSTRAPPER).toBe(16 * 1024);
    expect(MAX_LINE_FROM_BOOTSTRAPPER).toBe(16 * 1024 * 1024);
  });

  it('a 16 MB line in 64 KB chunks arrives whole (each byte scanned once)', () => {
    const s = new LineSplitter(MAX_LINE_FROM_BOOTSTRAPPER);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const chunks = MAX_LINE_FROM_BOOTSTRAPPER / chunk.length;
    let scanned = 0;
    const indexOf = chunk.indexOf.bind(chunk);
    chunk.indexOf = ((...args: Parameters<Buffer['indexOf']>) => {
      scanned += chunk.length - (typeof args[1] === 'number' ? args[1] : 0);
      return indexOf(...args);
    }) as Buffer['indexOf'];
    for (let i = 0; i < chunks; i++) expect(s.push(chunk)).toEqual([]);
    const lines = s.push(Buffer.from('\n'));
    expect(lines).toHaveLength(1);
    expect(lines?.[0]?.length).toBe(MAX_LINE_FROM_BOOTSTRAPPER);
    expect(scanned).toBe(MAX_LINE_FROM_BOOTSTRAPPER);
  });
});

describe('bootstrap codec: the rejections not covered above', () => {
  const malformed: [string, string][] = [
    ['error reason empty', '{"type":"error","reason":"","detail":"x"}'],
    ['error reason too long', `{"type":"error","reason":"${'r'.repeat(MAX_REASON_CHARS + 1)}","detail":"x"}`],
    ['register pid over 2^31 - 1', `{"type":"register","pid":${2 ** 31},"nonce":"${B32}"}`],
    ['register pid a string', `{"type":"register","pid":"1","nonce":"${B32}"}`],
    ['challenge nonce short', '{"type":"challenge","name":"o4","nonce":"AAAA"}'],
    ['challenge name not a topology name', `{"type":"challenge","name":"4o","nonce":"${B32}"}`],
    ['sealed seq fractional', `{"type":"sealed","seq":1.5,"body":"{}","mac":"${B32}"}`],
    ['sealed seq past 2^53', `{"type":"sealed","seq":${2 ** 53},"body":"{}","mac":"${B32}"}`],
    ['sealed without mac', '{"type":"sealed","seq":0,"body":"{}"}'],
    ['neighbour-down name empty', '{"type":"neighbour-down","name":""}'],
    ['server-key key short', `{"type":"server-key","server":"s1","key":"${B31}"}`],
    ['registered emulateLinks a string', line(registered, { emulateLinks: 'yes' })],
    ['registered clientAddresses a string', line(registered, { clientAddresses: '10.0.0.1' })],
    ['neighbour localAddress not IPv4', line(registered, { neighbours: [{ ...neighbour, localAddress: '::1' }] })],
    ['welcome pops not a list', line(welcome, { pops: {} })],
  ];
  it.each(malformed)('%s', (_what, text) => {
    expect(decodeBootstrap(text)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('a line past the default limit (what the bootstrapper may send) is oversize, unparsed', () => {
    const text = `{"type":"login","x":"${'a'.repeat(MAX_LINE_FROM_BOOTSTRAPPER)}"}`;
    expect(decodeBootstrap(text)).toEqual({ ok: false, reason: 'oversize' });
    expect(decodeBootstrap('{"type":"login"}', MAX_LINE_TO_BOOTSTRAPPER)).toEqual({
      ok: true,
      value: { type: 'login' },
    });
  });

  it('a sealed body that is not JSON, or not a message, is refused as such', () => {
    expect(decodeSealedBody('{"type":"neighbour-up"')).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeSealedBody('{"type":"reboot"}')).toEqual({ ok: false, reason: 'unsupported' });
    expect(decodeSealedBody('{"type":"login"}')).toEqual({ ok: false, reason: 'unsupported' });
  });
});

describe('bootstrap lines over TCP, split anyhow', () => {
  it('every message comes back whole, however the byte stream is cut into chunks', () => {
    const stream = Buffer.from(messages.map(encodeBootstrap).join(''));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), stream.length];
        const s = new LineSplitter(MAX_LINE_FROM_BOOTSTRAPPER);
        const lines: string[] = [];
        for (let i = 1; i < points.length; i++)
          lines.push(...(s.push(stream.subarray(points[i - 1], points[i])) ?? []));
        expect(lines.map((l) => decodeBootstrap(l))).toEqual(messages.map((value) => ({ ok: true, value })));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes in random chunks never throw: the splitter yields lines or refuses, the decoder a result', () => {
    const chunk = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b));
    const newlines = fc
      .array(chunk, { maxLength: 20 })
      .map((cs) => cs.map((c, i) => (i % 3 === 0 || c.length === 0 ? c : c.fill(0x0a, 0, 1))));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), newlines, (limit, chunks) => {
        const s = new LineSplitter(limit);
        for (const c of chunks) {
          const lines = s.push(c);
          if (lines === null) continue; // an oversize line: the caller closes the connection
          for (const l of lines) {
            expect(Buffer.byteLength(l)).toBeLessThanOrEqual(limit * 3); // U+FFFD for a bad byte is 3 bytes
            expect(typeof decodeBootstrap(l, limit).ok).toBe('boolean');
            expect(typeof decodeSealedBody(l).ok).toBe('boolean');
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});

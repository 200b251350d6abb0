/**
 * Bodies of the overlay's control messages (every type but DATA and HELLO): one JSON object per
 * datagram, validated by one valibot schema per type. The header around them is in overlay.ts.
 *
 * Every body fits MAX_CONTROL_BODY_BYTES, well under the datagram limit, so the header, the
 * sender's name and an authentication trailer still fit around it. Lists that can grow past
 * that (a server's catalogue, the movies a node carries, a repair's sequence numbers) are cut
 * into several messages by control-split.ts; nothing is left to fail at send time.
 */
import * as v from 'valibot';
import { avTupleOf, MovieTupleSchema } from './movie-info-schema.ts';
import type { ControlMessage, MovieInfo, RouteAdvert } from './overlay.ts';
import { isMovieName, isNodeName } from './names.ts';
import { type Decoded, fail, ok } from './result.ts';

/**
 * Largest control body, in bytes: MAX_OVERLAY_DATAGRAM (1472) less the header with a 64-byte
 * name (68) leaves 1404; 200 bytes of that stay free for authentication and a second name.
 */
export const MAX_CONTROL_BODY_BYTES = 1200;
/** Bounds on lists in control messages: a route's path, a join's path. */
export const MAX_PATH_LENGTH = 64;
/** Movies one server may offer. */
export const MAX_CATALOGUE = 10_000;
/** A catalogue travels in at most this many parts (every part holds at least one movie). */
export const MAX_CATALOGUE_PARTS = MAX_CATALOGUE;
/** Movies in one catalogue part (the byte budget usually stops a part earlier). */
export const MAX_MOVIES_PER_PART = 64;
/** Part numbers one catalogue request may ask for. */
export const MAX_PARTS_PER_REQUEST = 64;
/** Movies a node announces it carries, over all parts of one announcement. */
export const MAX_CARRYING = 1024;
/** Movies in one carrying part. */
export const MAX_CARRYING_PER_PART = 256;
/** At most this many sequence numbers in one repair request. */
export const MAX_REPAIR_SEQS = 256;
/** A NAK's human-readable detail, in UTF-16 code units (the encoder shortens longer ones). */
export const MAX_NAK_DETAIL = 512;
/** Catalogue digests are 48-bit integers: exact in JSON and in a double. */
export const MAX_DIGEST = 2 ** 48 - 1;

export const NAK_REASONS = ['unknown-movie', 'no-route', 'loop', 'timeout', 'overloaded'] as const;

const nodeName = v.custom<string>(isNodeName);
const movieName = v.custom<string>(isMovieName);
const count = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
const seq16 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffff));
const metric = v.pipe(v.number(), v.finite(), v.minValue(0));
const digest = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_DIGEST));
const path = v.pipe(v.array(nodeName), v.maxLength(MAX_PATH_LENGTH));
const partIndex = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_CATALOGUE_PARTS - 1));
const partCount = (max: number) => v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(max));

/** Servers in one routes message (the byte budget usually stops it earlier). */
export const MAX_ROUTES_PER_MESSAGE = 256;
/**
 * A route on the wire: [server, seq, latencyMs, hops, cv, path] (items after these are ignored, as
 * valibot's tuple ignores them). Checked by hand: routes are most of what a node decodes, and a
 * generic tuple schema cost microseconds per route and copied every path.
 */
const ROUTE = v.pipe(
  v.unknown(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const route = routeOf(dataset.value);
    if (route !== undefined) return route;
    addIssue({ message: 'not a route' });
    return NEVER;
  }),
);

function routeOf(x: unknown): RouteAdvert | undefined {
  if (!Array.isArray(x) || x.length < 6) return undefined;
  const [server, seq, latencyMs, hops, cv, p] = x as unknown[];
  if (!isNodeName(server) || !isCount(seq) || !isCount(hops)) return undefined;
  if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0) return undefined;
  if (!Number.isInteger(cv) || (cv as number) < 0 || (cv as number) > MAX_DIGEST) return undefined;
  if (!Array.isArray(p) || p.length < 1 || p.length > MAX_PATH_LENGTH) return undefined;
  for (const n of p) if (!isNodeName(n)) return undefined;
  return { server, seq, latencyMs, hops, cv: cv as number, path: p as string[] };
}

function isCount(x: unknown): x is number {
  return Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff;
}
const GONE = v.pipe(
  v.tuple([nodeName, count]),
  v.transform(([server, seq]) => ({ server, seq })),
);
const ROUTES = v.object({
  reset: v.optional(v.boolean()),
  gone: v.optional(v.pipe(v.array(GONE), v.maxLength(MAX_ROUTES_PER_MESSAGE))),
  routes: v.pipe(v.array(ROUTE), v.maxLength(MAX_ROUTES_PER_MESSAGE)),
  withdrawn: v.pipe(v.array(nodeName), v.maxLength(MAX_ROUTES_PER_MESSAGE)),
});
const ROUTES_REQUEST = v.object({});
const JOIN = v.object({ movie: movieName, path: v.pipe(path, v.minLength(1)), server: v.optional(nodeName) });
const JOIN_ACK = v.object({ movie: movieName, rootPath: v.pipe(path, v.minLength(1)) });
const NAK = v.object({
  movie: movieName,
  reason: v.picklist(NAK_REASONS),
  detail: v.pipe(v.string(), v.maxLength(MAX_NAK_DETAIL)),
});
const LEAVE = v.object({ movie: movieName });
const PING = v.object({ id: count, sentAt: metric });
const PONG = v.object({ id: count, sentAt: metric, node: nodeName });
const CATALOGUE_REQUEST = v.object({
  server: nodeName,
  cv: digest,
  parts: v.optional(v.pipe(v.array(partIndex), v.maxLength(MAX_PARTS_PER_REQUEST))),
});
const CATALOGUE = v.pipe(
  v.object({
    server: nodeName,
    cv: digest,
    part: partIndex,
    parts: partCount(MAX_CATALOGUE_PARTS),
    movies: v.pipe(v.array(MovieTupleSchema), v.maxLength(MAX_MOVIES_PER_PART)),
  }),
  v.check((m) => m.part < m.parts),
);
const REPAIR = v.pipe(
  v.object({
    movie: movieName,
    ssrc: count,
    after: v.optional(seq16),
    seqs: v.optional(v.pipe(v.array(seq16), v.maxLength(MAX_REPAIR_SEQS))),
  }),
  v.check((m) => (m.after === undefined) !== (m.seqs === undefined)),
);
const CARRYING = v.pipe(
  v.object({
    movies: v.pipe(v.array(movieName), v.maxLength(MAX_CARRYING_PER_PART)),
    roots: v.optional(v.array(nodeName)),
    version: v.optional(count),
    part: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_CARRYING - 1))),
    parts: v.optional(partCount(MAX_CARRYING)),
  }),
  v.check((m) => m.roots === undefined || m.roots.length === m.movies.length),
  // A part number comes with the part count and the announcement it belongs to, or none of them does.
  v.check((m) => (m.part === undefined) === (m.parts === undefined)),
  v.check((m) => (m.part === undefined) === (m.version === undefined)),
  v.check((m) => m.part === undefined || m.parts === undefined || m.part < m.parts),
);

type Body<T extends ControlMessage['type']> = Omit<Extract<ControlMessage, { type: T }>, 'type'>;
type BodySchemas = { readonly [T in ControlMessage['type']]: v.GenericSchema<unknown, Body<T>> };

/** One schema per control message type (the type itself is in the header). */
export const CONTROL_SCHEMAS: BodySchemas = {
  routes: ROUTES,
  'routes-request': ROUTES_REQUEST,
  join: JOIN,
  'join-ack': JOIN_ACK,
  nak: NAK,
  leave: LEAVE,
  ping: PING,
  pong: PONG,
  carrying: CARRYING,
  repair: REPAIR,
  'catalogue-request': CATALOGUE_REQUEST,
  catalogue: CATALOGUE,
};

/** Decodes a control body of a known type; never throws. */
export function decodeControlBody(type: ControlMessage['type'], body: Buffer): Decoded<ControlMessage> {
  if (body.length > MAX_CONTROL_BODY_BYTES) return fail('oversize');
  let fields: unknown;
  try {
    fields = JSON.parse(body.toString('utf8'));
  } catch {
    return fail(body.length === 0 ? 'truncated' : 'malformed');
  }
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return fail('malformed');
  const parsed = v.safeParse(CONTROL_SCHEMAS[type], fields);
  if (!parsed.success) return fail('malformed');
  return ok({ type, ...parsed.output } as ControlMessage);
}

export type EncodedBody =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly problem: string };

/**
 * The JSON body of a control message, or why it cannot be sent (too big for the budget: the
 * problem names the cause and the fix). A NAK's detail, being for people, is shortened to fit.
 */
export function encodeControlBody(msg: ControlMessage): EncodedBody {
  if (msg.type === 'nak') return encodeNak(msg);
  const body = Buffer.from(JSON.stringify(wireFields(msg)), 'utf8');
  if (body.length <= MAX_CONTROL_BODY_BYTES) return { ok: true, body };
  return { ok: false, problem: `${overBudget(msg.type, body.length)}: ${OVERSIZE_HINTS[msg.type]}` };
}

/** Bytes the body of `msg` takes (for packing lists into parts). */
export function controlBodyBytes(msg: ControlMessage): number {
  return Buffer.byteLength(JSON.stringify(wireFields(msg)), 'utf8');
}

/** The movie tuple of a catalogue entry, as the wire carries it. */
export function movieTupleOf(m: MovieInfo): unknown[] {
  const tuple: unknown[] = [m.name, m.fps, m.width, m.height, m.frames];
  if (m.av !== undefined) tuple.push(avTupleOf(m.av));
  return tuple;
}

function wireFields(msg: ControlMessage): object {
  const { type: _type, ...fields } = msg;
  if (msg.type === 'catalogue') return { ...fields, movies: msg.movies.map(movieTupleOf) };
  if (msg.type === 'routes') {
    const routes = msg.routes.map((r) => [r.server, r.seq, r.latencyMs, r.hops, r.cv, r.path]);
    const gone = msg.gone?.map((g) => [g.server, g.seq]);
    return {
      ...(msg.reset ? { reset: true } : {}),
      ...(gone?.length ? { gone } : {}),
      routes,
      withdrawn: msg.withdrawn,
    };
  }
  return fields;
}

function encodeNak(msg: Extract<ControlMessage, { type: 'nak' }>): EncodedBody {
  let detail = msg.detail.length > MAX_NAK_DETAIL ? msg.detail.slice(0, MAX_NAK_DETAIL) : msg.detail;
  for (;;) {
    const body = Buffer.from(JSON.stringify({ movie: msg.movie, reason: msg.reason, detail }), 'utf8');
    if (body.length <= MAX_CONTROL_BODY_BYTES) return { ok: true, body };
    if (detail.length === 0) return { ok: false, problem: `${overBudget('nak', body.length)}: ${OVERSIZE_HINTS.nak}` };
    // Cut by the excess (at least one unit), then drop a high surrogate left without its pair.
    detail = detail.slice(0, Math.max(0, detail.length - Math.max(1, body.length - MAX_CONTROL_BODY_BYTES)));
    if (/[\ud800-\udbff]$/.test(detail)) detail = detail.slice(0, -1);
  }
}

function overBudget(type: ControlMessage['type'], bytes: number): string {
  return `${type} body of ${bytes} bytes exceeds the ${MAX_CONTROL_BODY_BYTES}-byte budget`;
}

/** The cause and the fix of a body over budget, by type (types that are split never get here). */
const OVERSIZE_HINTS: { readonly [T in ControlMessage['type']]: string } = {
  routes: 'a bug: routes must be cut with routeParts()',
  'routes-request': 'a routes request is never this long',
  join: "the join's path is too long for its node names; shorten the node names in the topology",
  'join-ack': "the join-ack's root path is too long for its node names; shorten the node names in the topology",
  nak: 'the movie name is too long',
  leave: 'the movie name is too long',
  ping: 'a ping is never this long',
  pong: 'a pong is never this long',
  carrying: 'a bug: announcements of carried movies must be cut with carryingParts()',
  repair: 'a bug: repair requests must be cut with repairRequests()',
  'catalogue-request': 'a bug: a request asks for at most MAX_PARTS_PER_REQUEST parts',
  catalogue: 'a bug: catalogues must be cut with catalogueParts()',
};

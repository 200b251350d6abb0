/**
 * valibot schemas of every bootstrap message: what decodeBootstrap accepts. Each field is checked
 * for type, range and size, so a receiver can use a decoded message as is (a role is one of the
 * three roles, an address is IPv4, a number is finite and in range, every list and string is
 * bounded). Unknown fields are dropped.
 */
import * as v from 'valibot';
import { MovieInfoSchema } from './movie-info-schema.ts';
import { MAX_NODE_NAME_BYTES, TOPOLOGY_NAME } from './names.ts';

/** Lines a node or client sends are tiny (register, prove, login): a longer one is not ours. */
export const MAX_LINE_TO_BOOTSTRAPPER = 16 * 1024;
/**
 * A registered node's telemetry report (dashboard-api.ts): a line up to this long is read from a
 * registered connection only; a connection that has not registered keeps MAX_LINE_TO_BOOTSTRAPPER.
 * 64 KiB holds a POP's 128 viewer rows with room to spare; nodes trim their reports to fit.
 */
export const MAX_REPORT_LINE = 64 * 1024;
/** A welcome with 10,000 movies of 255-byte names is ~3.5 MB; leave room for several servers. */
export const MAX_LINE_FROM_BOOTSTRAPPER = 16 * 1024 * 1024;
export const MAX_ADDRESSES = 64;
export const MAX_NEIGHBOURS = 1024;
export const MAX_POPS = 1024;
export const MAX_SERVER_KEYS = 1024;
export const MAX_WELCOME_MOVIES = 100_000;
export const MAX_REASON_CHARS = 64;
export const MAX_DETAIL_CHARS = 2048;

/** Base64 of exactly 32 bytes: nonces, MACs (HMAC-SHA256) and Ed25519 public keys. */
const BASE64_32 = /^[A-Za-z0-9+/]{43}=$/;

const Name = v.pipe(v.string(), v.regex(TOPOLOGY_NAME), v.maxBytes(MAX_NODE_NAME_BYTES));
const Ipv4 = v.pipe(v.string(), v.ipv4());
const Bytes32 = v.pipe(v.string(), v.regex(BASE64_32));
const Role = v.picklist(['server', 'node', 'pop']);
/**
 * The longest emulated one-way delay a link may carry: an hour per link in the topology file, and
 * what a timer can hold (2^31 - 1 ms; Node runs longer timeouts after 1 ms) for a path's sum.
 */
export const MAX_LINK_DELAY_MS = 3_600_000;
export const MAX_PATH_DELAY_MS = 2 ** 31 - 1;

/**
 * A clock reading in a time message (ms): a daemon's are ms since 1970 (~1.7e12), a simulation's
 * anything; beyond ±1e15 (some 30,000 years) it is no clock.
 */
export const MAX_CLOCK_MS = 1e15;
const ClockMs = v.pipe(v.number(), v.finite(), v.minValue(-MAX_CLOCK_MS), v.maxValue(MAX_CLOCK_MS));

const Count = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
const Seq = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
const list = <T extends v.GenericSchema>(item: T, max: number) => v.pipe(v.array(item), v.maxLength(max));

const Neighbour = v.object({
  name: Name,
  role: Role,
  address: Ipv4,
  localAddress: Ipv4,
  // The topology's own bounds (topology-schema.ts): whatever loads there must travel here.
  delayMs: v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(MAX_PATH_DELAY_MS)),
  lossPct: v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(100)),
  rateKbps: v.nullable(v.pipe(v.number(), v.finite(), v.gtValue(0))),
  up: v.boolean(),
});

const Pop = v.object({ name: Name, addresses: v.pipe(list(Ipv4, MAX_ADDRESSES), v.minLength(1)) });

const ServerKeyInfo = v.object({ server: Name, key: Bytes32 });

export const BootstrapSchema = v.variant('type', [
  v.object({ type: v.literal('register'), pid: v.pipe(Count, v.maxValue(0x7fffffff)), nonce: Bytes32 }),
  v.object({ type: v.literal('challenge'), name: Name, nonce: Bytes32 }),
  v.object({ type: v.literal('prove'), mac: Bytes32, signingKey: v.optional(Bytes32) }),
  v.object({
    type: v.literal('sealed'),
    seq: Seq,
    body: v.pipe(v.string(), v.maxLength(MAX_LINE_FROM_BOOTSTRAPPER)),
    mac: Bytes32,
  }),
  v.object({
    type: v.literal('report'),
    seq: Seq,
    body: v.pipe(v.string(), v.maxLength(MAX_REPORT_LINE)),
    mac: Bytes32,
  }),
  v.object({
    type: v.literal('registered'),
    name: Name,
    role: Role,
    addresses: v.pipe(list(Ipv4, MAX_ADDRESSES), v.minLength(1)),
    clientAddresses: list(Ipv4, MAX_ADDRESSES),
    neighbours: list(Neighbour, MAX_NEIGHBOURS),
    emulateLinks: v.boolean(),
    serverKeys: list(ServerKeyInfo, MAX_SERVER_KEYS),
  }),
  v.object({ type: v.picklist(['neighbour-up', 'neighbour-down']), name: Name }),
  v.object({ type: v.literal('server-key'), server: Name, key: Bytes32 }),
  v.object({ type: v.literal('login') }),
  v.object({ type: v.literal('time'), id: Seq, t0: ClockMs, at: v.optional(ClockMs) }),
  v.object({
    type: v.literal('welcome'),
    pops: list(Pop, MAX_POPS),
    catalogue: list(MovieInfoSchema, MAX_WELCOME_MOVIES),
    serverKeys: list(ServerKeyInfo, MAX_SERVER_KEYS),
  }),
  v.object({
    type: v.literal('error'),
    reason: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_REASON_CHARS)),
    detail: v.pipe(v.string(), v.maxLength(MAX_DETAIL_CHARS)),
  }),
]);

export type BootstrapSchemaOutput = v.InferOutput<typeof BootstrapSchema>;

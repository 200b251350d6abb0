/**
 * The bootstrapper protocol: one JSON object per line over TCP.
 *
 *   node → bootstrapper   { "type": "register", "pid", "nonce" }              node's random nonce
 *   bootstrapper → node   { "type": "challenge", "name", "nonce" }            the name its address maps to
 *   node → bootstrapper   { "type": "prove", "mac", "signingKey"? }           proves it holds the node key
 *   bootstrapper → node   { "type": "sealed", "seq", "body", "mac" }          every later message, MAC'd:
 *        body = { "type": "registered", "name", "role", "addresses", "neighbours", "serverKeys", ... }
 *             | { "type": "neighbour-up" | "neighbour-down", "name" }
 *             | { "type": "server-key", "server", "key" }
 *             | { "type": "time", "id", "t0", "at" }    the answer to a time request: `at` is the
 *                  reference clock (ms since 1970) as the request arrived (onode/core/time-sync.ts)
 *   node → bootstrapper   { "type": "report", "seq", "body", "mac" }          telemetry (dashboard-api.ts),
 *        MAC'd like a sealed message under its own label; at most MAX_REPORT_LINE bytes
 *   node → bootstrapper   { "type": "time", "id", "t0" }                      a registered server asks the
 *        time (t0: its clock at sending); plain, as it is only a question; at most
 *        MAX_TIME_REQUESTS per TIME_REQUEST_WINDOW_MS (bootstrap-desk.ts), the rest dropped
 *   client → bootstrapper { "type": "login" }
 *   bootstrapper → client { "type": "welcome", "pops", "catalogue", "serverKeys" }, then it hangs up
 *   either way            { "type": "error", "reason", "detail" }
 *
 * The address a node connects from names it; the proof (common/security/registration-proof.ts)
 * shows it holds that name's key, derived from the overlay secret. A sealed body is the inner
 * message's JSON text, so the MAC covers the exact bytes the receiver parses.
 */
import * as v from 'valibot';
import { BootstrapSchema, MAX_LINE_FROM_BOOTSTRAPPER } from './bootstrap-schema.ts';
import type { MovieInfo } from './overlay.ts';
import { fail, ok, type Decoded } from './result.ts';

export { MAX_LINE_FROM_BOOTSTRAPPER, MAX_LINE_TO_BOOTSTRAPPER, MAX_REPORT_LINE } from './bootstrap-schema.ts';

export type NodeRole = 'server' | 'node' | 'pop';

export interface NeighbourInfo {
  readonly name: string;
  readonly role: NodeRole;
  /** Where to send to reach the neighbour over this link. */
  readonly address: string;
  /** This node's own address on the link (the source to send from). */
  readonly localAddress: string;
  readonly delayMs: number;
  readonly lossPct: number;
  readonly rateKbps: number | null;
  /** Registered and connected at the bootstrapper right now. */
  readonly up: boolean;
}

export interface PopInfo {
  readonly name: string;
  /** Client-facing addresses. */
  readonly addresses: readonly string[];
}

/** A server's stream-signing public key: base64 of the raw 32-byte Ed25519 key. */
export interface ServerKeyInfo {
  readonly server: string;
  readonly key: string;
}

export interface RegisteredMessage {
  readonly type: 'registered';
  readonly name: string;
  readonly role: NodeRole;
  readonly addresses: readonly string[];
  readonly clientAddresses: readonly string[];
  readonly neighbours: readonly NeighbourInfo[];
  /** Apply each link's delay and loss when sending (loopback, or an emulator without netem). */
  readonly emulateLinks: boolean;
  /** Every server's current stream-signing key. */
  readonly serverKeys: readonly ServerKeyInfo[];
}

/**
 * A server's time request (no `at`), or the bootstrapper's sealed answer echoing `id` and `t0`
 * with its reference clock `at` (onode/core/time-sync.ts turns the pair into an offset). Sealed, so
 * no one on the path can shift a server's timeline.
 */
export interface TimeMessage {
  readonly type: 'time';
  readonly id: number;
  readonly t0: number;
  readonly at?: number;
}

export interface WelcomeMessage {
  readonly type: 'welcome';
  readonly pops: readonly PopInfo[];
  readonly catalogue: readonly MovieInfo[];
  readonly serverKeys: readonly ServerKeyInfo[];
}

export type BootstrapMessage =
  | { readonly type: 'register'; readonly pid: number; readonly nonce: string }
  | { readonly type: 'challenge'; readonly name: string; readonly nonce: string }
  | { readonly type: 'prove'; readonly mac: string; readonly signingKey?: string }
  | { readonly type: 'sealed'; readonly seq: number; readonly body: string; readonly mac: string }
  | { readonly type: 'report'; readonly seq: number; readonly body: string; readonly mac: string }
  | RegisteredMessage
  | { readonly type: 'neighbour-up' | 'neighbour-down'; readonly name: string }
  | { readonly type: 'server-key'; readonly server: string; readonly key: string }
  | { readonly type: 'login' }
  | TimeMessage
  | WelcomeMessage
  | { readonly type: 'error'; readonly reason: string; readonly detail: string };

/** What a sealed body may carry: the messages only the real bootstrapper may send a node. */
export type SealedMessage = Extract<
  BootstrapMessage,
  { type: 'registered' | 'neighbour-up' | 'neighbour-down' | 'server-key' | 'time' }
>;

const TYPES = new Set<string>([
  'register',
  'challenge',
  'prove',
  'sealed',
  'report',
  'registered',
  'neighbour-up',
  'neighbour-down',
  'server-key',
  'login',
  'time',
  'welcome',
  'error',
]);

/** The schema's output must be a BootstrapMessage: this fails to compile if the two drift apart. */
const asMessage = (m: v.InferOutput<typeof BootstrapSchema>): BootstrapMessage => m;

export function encodeBootstrap(msg: BootstrapMessage): string {
  return `${JSON.stringify(msg)}\n`;
}

/** Decodes one line (without its newline) and validates it against its message's schema. */
export function decodeBootstrap(line: string, maxChars = MAX_LINE_FROM_BOOTSTRAPPER): Decoded<BootstrapMessage> {
  if (line.length > maxChars) return fail('oversize');
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return fail('malformed');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('malformed');
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string' || !TYPES.has(type)) return fail('unsupported');
  const parsed = v.safeParse(BootstrapSchema, raw);
  return parsed.success ? ok(asMessage(parsed.output)) : fail('malformed');
}

/** A sealed body's message, if it is one that a sealed envelope may carry. */
export function decodeSealedBody(body: string): Decoded<SealedMessage> {
  const d = decodeBootstrap(body);
  if (!d.ok) return d;
  const m = d.value;
  switch (m.type) {
    case 'registered':
    case 'neighbour-up':
    case 'neighbour-down':
    case 'server-key':
      return ok(m);
    case 'time':
      // Only an answer (with the reference's time) comes sealed.
      return m.at === undefined ? fail('malformed') : ok(m);
    default:
      return fail('unsupported');
  }
}

/**
 * Splits a TCP byte stream into lines; refuses a line that grows past maxBytes. Each byte is
 * scanned and copied once, however many chunks a long line arrives in.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;

  /** @param maxBytes the longest line accepted; a reader may raise it (a node's reports, once registered) */
  constructor(public maxBytes: number) {}

  /** Returns complete non-blank lines, or null when the peer sent an oversize line (close it). */
  push(chunk: Buffer): string[] | null {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.size + piece.length > this.maxBytes) return this.overflow();
      const whole = this.parts.length === 0 ? piece : Buffer.concat([...this.parts, piece]);
      const line = whole.toString('utf8');
      this.parts = [];
      this.size = 0;
      if (line.trim() !== '') lines.push(line);
      start = nl + 1;
    }
    const rest = chunk.length - start;
    if (this.size + rest > this.maxBytes) return this.overflow();
    if (rest > 0) {
      // A copy: a small piece must not keep the whole chunk it came in alive.
      this.parts.push(Buffer.from(chunk.subarray(start)));
      this.size += rest;
    }
    return lines;
  }

  private overflow(): null {
    this.parts = [];
    this.size = 0;
    return null;
  }
}

/**
 * The bootstrapper protocol: one JSON object per line over TCP.
 *
 *   node → bootstrapper   { "type": "register", "pid": 1234 }
 *   bootstrapper → node   { "type": "registered", "name", "role", "addresses", "neighbours": [...] }
 *                         { "type": "neighbour-up" | "neighbour-down", "name" }
 *   client → bootstrapper { "type": "login" }
 *   bootstrapper → client { "type": "welcome", "pops": [...], "catalogue": [...] }
 *   either way            { "type": "error", "reason", "detail" }
 *
 * A node is identified by the address it connects from, so `register` carries no name.
 */
import type { MovieInfo } from './overlay.ts';
import { fail, ok, type Decoded } from './result.ts';

/** A line longer than this is not ours (a catalogue of MAX_CATALOGUE movies fits well within). */
export const MAX_BOOTSTRAP_LINE_BYTES = 256 * 1024;

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

export type BootstrapMessage =
  | { readonly type: 'register'; readonly pid: number }
  | {
      readonly type: 'registered';
      readonly name: string;
      readonly role: NodeRole;
      readonly addresses: readonly string[];
      readonly clientAddresses: readonly string[];
      readonly neighbours: readonly NeighbourInfo[];
      /** Apply each link's delay and loss when sending (loopback, or an emulator without netem). */
      readonly emulateLinks: boolean;
    }
  | { readonly type: 'neighbour-up' | 'neighbour-down'; readonly name: string }
  | { readonly type: 'login' }
  | { readonly type: 'welcome'; readonly pops: readonly PopInfo[]; readonly catalogue: readonly MovieInfo[] }
  | { readonly type: 'error'; readonly reason: string; readonly detail: string };

const TYPES = new Set(['register', 'registered', 'neighbour-up', 'neighbour-down', 'login', 'welcome', 'error']);

export function encodeBootstrap(msg: BootstrapMessage): string {
  return `${JSON.stringify(msg)}\n`;
}

/** Decodes one line (without its newline). Field shapes are checked where a receiver relies on them. */
export function decodeBootstrap(line: string): Decoded<BootstrapMessage> {
  if (line.length > MAX_BOOTSTRAP_LINE_BYTES) return fail('oversize');
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return fail('malformed');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('malformed');
  const r = raw as Record<string, unknown>;
  if (typeof r.type !== 'string' || !TYPES.has(r.type)) return fail('unsupported');
  switch (r.type) {
    case 'register':
      return typeof r.pid === 'number' ? ok(raw as BootstrapMessage) : fail('malformed');
    case 'registered':
      return typeof r.name === 'string' && typeof r.role === 'string' && strings(r.addresses) &&
        strings(r.clientAddresses) && typeof r.emulateLinks === 'boolean' && Array.isArray(r.neighbours) && r.neighbours.every(isNeighbour)
        ? ok(raw as BootstrapMessage)
        : fail('malformed');
    case 'neighbour-up':
    case 'neighbour-down':
      return typeof r.name === 'string' ? ok(raw as BootstrapMessage) : fail('malformed');
    case 'login':
      return ok(raw as BootstrapMessage);
    case 'welcome':
      return Array.isArray(r.pops) && r.pops.every(isPop) && Array.isArray(r.catalogue) && r.catalogue.every(isMovie)
        ? ok(raw as BootstrapMessage)
        : fail('malformed');
    default:
      return typeof r.reason === 'string' && typeof r.detail === 'string' ? ok(raw as BootstrapMessage) : fail('malformed');
  }
}

/** Splits a TCP byte stream into lines; refuses a line that grows past the limit. */
export class LineSplitter {
  private pending = '';

  /** Returns complete lines, or null when the peer sent an oversize line (close it). */
  push(chunk: string): string[] | null {
    this.pending += chunk;
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    if (this.pending.length > MAX_BOOTSTRAP_LINE_BYTES) return null;
    return lines.filter((l) => l.trim() !== '');
  }
}

function strings(v: unknown): boolean {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function isNeighbour(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const n = v as Record<string, unknown>;
  return typeof n.name === 'string' && typeof n.address === 'string' && typeof n.localAddress === 'string' &&
    typeof n.delayMs === 'number' && typeof n.lossPct === 'number' && typeof n.up === 'boolean';
}

function isPop(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string' &&
    strings((v as { addresses?: unknown }).addresses);
}

function isMovie(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  return typeof m.name === 'string' && typeof m.fps === 'number' && typeof m.width === 'number' &&
    typeof m.height === 'number' && typeof m.frames === 'number';
}

/**
 * Child process: the RTSP load generator of bench/rtsp/main.ts. One Node process drives N
 * viewers (bench/rtsp/session.ts), each with its own RTSP connection and RTP/RTCP
 * sockets, spread over many loopback addresses (a POP admits a few sessions per client address).
 *
 * Commands: 'open' {url, total} → opens sessions until `total` play; 'mark' starts a measurement
 * window; 'measure' → WindowStats since the mark; 'close' tears every session down.
 */
import { childConfig, serveRequests } from '../common/child.ts';
import { LOSS_TARGET_PCT } from './capacity.ts';
import { udpSockets } from '../common/proc.ts';
import { LoadSession, type SessionCounters } from './session.ts';

export interface LoadConfig {
  /** First two octets of the client addresses, e.g. "127.37". */
  readonly addressPrefix: string;
  /** Third octet of the first client network; each network holds 250 addresses. */
  readonly firstNetwork: number;
  /** Sessions per client address (onode admits 16). */
  readonly perAddress: number;
  /** Each address's first RTP port; its sessions take consecutive even/odd pairs from here. */
  readonly rtpPortBase: number;
  /** SETUPs in flight at once while opening. */
  readonly concurrency: number;
}

export interface OpenArgs {
  readonly url: string;
  readonly total: number;
}
export interface OpenResult {
  readonly sessions: number;
  readonly failed: number;
  readonly firstError: string | null;
  readonly ms: number;
}

export interface WindowStats {
  readonly sessions: number;
  readonly windowMs: number;
  /** Packets the sequence numbers say were sent in the window, and those that arrived. */
  readonly expected: number;
  readonly received: number;
  readonly lossPct: number;
  readonly worstLossPct: number;
  /** Sessions that lost 0.1 % or more of their packets. */
  readonly sessionsOverTarget: number;
  /** Sessions that received nothing in the window. */
  readonly silent: number;
  /** Frames received per second, all sessions together, and the slowest session's. */
  readonly fpsTotal: number;
  readonly fpsMin: number;
  readonly ppsPerSession: number;
  readonly kbpsPerSession: number;
  /** Spread of (arrival − RTP time) of frame ends within the window, per session: median and max, ms. */
  readonly delaySpreadP50Ms: number;
  readonly delaySpreadMaxMs: number;
  /** Datagrams the kernel dropped at the generator's own full receive buffers (not the server's fault). */
  readonly receiverDrops: number;
  /** The generator's CPU use over the window, % of one core. */
  readonly generatorCpuPct: number;
  readonly malformed: number;
}

const ADDRESSES_PER_NETWORK = 250;

interface Viewer {
  readonly session: LoadSession;
  readonly socketKey: string;
}

const config = childConfig<LoadConfig>();
const viewers: Viewer[] = [];
let mark: { at: number; cpu: NodeJS.CpuUsage; drops: number; counters: SessionCounters[] } | null = null;

function slot(i: number): { address: string; rtpPort: number } {
  const perNetwork = ADDRESSES_PER_NETWORK * config.perAddress;
  const network = config.firstNetwork + Math.floor(i / perNetwork);
  if (network > 255)
    throw new Error(`more sessions than ${config.addressPrefix}.${config.firstNetwork}-255.x can hold`);
  const host = 1 + (Math.floor(i / config.perAddress) % ADDRESSES_PER_NETWORK);
  return {
    address: `${config.addressPrefix}.${network}.${host}`,
    rtpPort: config.rtpPortBase + 2 * (i % config.perAddress),
  };
}

async function open(args: OpenArgs): Promise<OpenResult> {
  const started = performance.now();
  let next = viewers.length;
  let failed = 0;
  let firstError: string | null = null;
  const worker = async (): Promise<void> => {
    while (next < args.total) {
      const { address, rtpPort } = slot(next++);
      try {
        const session = await LoadSession.open(args.url, address, rtpPort);
        viewers.push({ session, socketKey: `${address}:${session.rtpPort}` });
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: config.concurrency }, worker));
  return { sessions: viewers.length, failed, firstError, ms: performance.now() - started };
}

function receiverDrops(): number {
  const sockets = udpSockets();
  return viewers.reduce((n, v) => n + (sockets.get(v.socketKey)?.drops ?? 0), 0);
}

function startWindow(): void {
  for (const v of viewers) v.session.takeDelaySpread();
  mark = {
    at: performance.now(),
    cpu: process.cpuUsage(),
    drops: receiverDrops(),
    counters: viewers.map((v) => v.session.counters()),
  };
}

function measure(): WindowStats {
  if (mark === null) throw new Error("'measure' before 'mark'");
  const windowMs = performance.now() - mark.at;
  const cpu = process.cpuUsage(mark.cpu);
  const drops = receiverDrops() - mark.drops;
  const rows = viewers.map((v, i) => {
    const before = mark?.counters[i];
    const now = v.session.counters();
    const received = now.received - (before?.received ?? 0);
    // A session that had nothing yet at the mark expects from its first packet on.
    const expected =
      now.highest < 0 ? 0 : now.highest - (before === undefined || before.highest < 0 ? -1 : before.highest);
    return {
      received,
      expected,
      frames: now.frames - (before?.frames ?? 0),
      bytes: now.bytes - (before?.bytes ?? 0),
      malformed: now.malformed - (before?.malformed ?? 0),
      spread: v.session.takeDelaySpread(),
    };
  });
  // A silent session's sequence numbers say nothing: it lost what a typical session got.
  const typical = median(rows.filter((r) => r.received > 0).map((r) => r.expected));
  let expected = 0;
  let received = 0;
  let worst = 0;
  let over = 0;
  for (const r of rows) {
    const e = r.received === 0 ? Math.max(r.expected, typical) : r.expected;
    const lost = Math.max(0, e - r.received);
    const pct = e > 0 ? (lost / e) * 100 : 0;
    expected += e;
    received += Math.min(r.received, e);
    worst = Math.max(worst, pct);
    if (pct >= LOSS_TARGET_PCT) over++;
  }
  const sec = windowMs / 1000;
  const n = Math.max(1, rows.length);
  const spreads = rows.flatMap((r) => (r.spread === null ? [] : [r.spread]));
  return {
    sessions: rows.length,
    windowMs,
    expected,
    received,
    lossPct: expected > 0 ? ((expected - received) / expected) * 100 : 0,
    worstLossPct: worst,
    sessionsOverTarget: over,
    silent: rows.filter((r) => r.received === 0).length,
    fpsTotal: rows.reduce((a, r) => a + r.frames, 0) / sec,
    fpsMin: rows.length === 0 ? 0 : Math.min(...rows.map((r) => r.frames)) / sec,
    ppsPerSession: rows.reduce((a, r) => a + r.received, 0) / sec / n,
    kbpsPerSession: (rows.reduce((a, r) => a + r.bytes, 0) * 8) / 1000 / sec / n,
    delaySpreadP50Ms: median(spreads),
    delaySpreadMaxMs: spreads.length === 0 ? 0 : Math.max(...spreads),
    receiverDrops: drops,
    generatorCpuPct: ((cpu.user + cpu.system) / 1000 / windowMs) * 100,
    malformed: rows.reduce((a, r) => a + r.malformed, 0),
  };
}

async function closeAll(): Promise<number> {
  const all = viewers.splice(0);
  mark = null;
  for (let i = 0; i < all.length; i += config.concurrency) {
    await Promise.all(all.slice(i, i + config.concurrency).map((v) => v.session.teardown()));
  }
  return all.length;
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

serveRequests(
  Promise.resolve(),
  {
    open: (args) => open(args as OpenArgs),
    mark: () => startWindow(),
    measure: () => measure(),
    close: () => closeAll(),
  },
  () => {
    for (const v of viewers) v.session.close();
  },
);

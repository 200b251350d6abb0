/**
 * How many concurrent RTSP viewers one server sustains: the load generator
 * (bench/rtsp/load.ts) steps the number of sessions up, and at each step measures a
 * window of per-session loss (RTP sequence numbers) and received frame rate. A step is sustained
 * when every session is playing, loss over all sessions is under 0.1 % and frames arrive at
 * nearly the full rate (95 % of fps × sessions): a server that cannot keep up shows as a falling
 * rate before it shows as loss. On a shared machine a scheduling stall can fail one window, so a
 * failed step is measured once more and counts as failed only if the second window fails too.
 */
import { readFileSync } from 'node:fs';
import type { BenchChild } from '../common/child.ts';
import { udpSockets } from '../common/proc.ts';
import type { OpenResult, WindowStats } from './load.ts';

export interface CapacityTarget {
  readonly label: string;
  readonly url: string;
  /** The server process, for its CPU use. */
  readonly pid: number;
  /**
   * "address:port" of UDP sockets the stream crosses before the server fans it out (the overlay path), for their
   * kernel drops; none for gst's in-process source.
   */
  readonly inboundSockets?: readonly string[];
}

export interface CapacityOptions {
  /** Session counts, ascending. */
  readonly steps: readonly number[];
  /** After the last session of a step plays, before the window: lets the server settle. */
  readonly settleMs: number;
  readonly windowMs: number;
  /** The movie's frame rate. */
  readonly fps: number;
  /** Called after each step (progress output). */
  readonly onStep?: (step: StepResult) => void;
}

export interface StepResult {
  readonly clients: number;
  readonly opened: OpenResult;
  readonly window: WindowStats;
  /** The server's CPU use over the window, % of one core (all its threads). */
  readonly serverCpuPct: number;
  /** The whole machine's CPU use over the window, % of all cores: near 100, the machine was the limit. */
  readonly machineBusyPct: number;
  /**
   * Datagrams the kernel dropped at full inbound sockets in the window: lost before the fan-out, so for every
   * viewer.
   */
  readonly inboundDrops: number;
  /** The kernel's UDP RcvbufErrors and SndbufErrors over the window, machine-wide (other jobs included). */
  readonly udpRcvbufErrors: number;
  readonly udpSndbufErrors: number;
  /** The window was the second one of the step (the first failed). */
  readonly retried: boolean;
  /** Sustained by the aggregate rule (module comment). */
  readonly sustained: boolean;
  /** Sustained, and additionally no single session lost 0.1 % or more. */
  readonly everySession: boolean;
  /** Why not sustained, or ''. */
  readonly why: string;
  /**
   * For a failed step, what else was at its limit: the load generator (its core nearly full) or
   * the machine (other load); then the step measured that rather than the server. Null otherwise.
   */
  readonly limitedBy: 'generator' | 'machine' | null;
}

export interface CapacityResult {
  readonly label: string;
  readonly steps: readonly StepResult[];
  /** Largest step sustained (aggregate rule; 0 if none), and by the every-session rule. */
  readonly largest: number;
  readonly largestEverySession: number;
  /** True when the last step was sustained too: the capacity is at least `largest`, not measured. */
  readonly ceilingNotReached: boolean;
  /** The failed step's limitedBy: the capacity is at least `largest`, the server's own limit not measured. */
  readonly limitedBy: 'generator' | 'machine' | null;
}

/** A generator using this much of its core cannot be trusted to read every packet in time. */
const GENERATOR_LIMIT_PCT = 85;
/** The machine this busy: the server was competing with other load for its CPU. */
const MACHINE_LIMIT_PCT = 95;

/** The loss target, %: per step over all sessions, and per session for the stricter count. */
export const LOSS_TARGET_PCT = 0.1;
/** Frames must arrive at this share of the full rate. */
const MIN_RATE_SHARE = 0.95;

export async function measureCapacity(
  load: BenchChild,
  target: CapacityTarget,
  o: CapacityOptions,
): Promise<CapacityResult> {
  const steps: StepResult[] = [];
  try {
    for (const clients of o.steps) {
      const opened = await load.request<OpenResult>('open', { url: target.url, total: clients });
      await sleep(o.settleMs);
      let step = await measureWindow(load, target, o, clients, opened, false);
      if (!step.sustained && opened.sessions === clients)
        step = await measureWindow(load, target, o, clients, opened, true);
      steps.push(step);
      o.onStep?.(step);
      if (!step.sustained) break;
    }
  } finally {
    await load.request('close');
  }
  const largest = Math.max(0, ...steps.filter((s) => s.sustained).map((s) => s.clients));
  const largestEverySession = Math.max(0, ...steps.filter((s) => s.everySession).map((s) => s.clients));
  const failed = steps.find((s) => !s.sustained);
  return {
    label: target.label,
    steps,
    largest,
    largestEverySession,
    ceilingNotReached: failed === undefined,
    limitedBy: failed?.limitedBy ?? null,
  };
}

async function measureWindow(
  load: BenchChild,
  target: CapacityTarget,
  o: CapacityOptions,
  clients: number,
  opened: OpenResult,
  retried: boolean,
): Promise<StepResult> {
  const cpuBefore = processCpuMs(target.pid);
  const machineBefore = machineTicks();
  const dropsBefore = inboundDrops(target);
  const udpBefore = udpErrors();
  const at = performance.now();
  await load.request('mark');
  await sleep(o.windowMs);
  const window = await load.request<WindowStats>('measure');
  const serverCpuPct = ((processCpuMs(target.pid) - cpuBefore) / (performance.now() - at)) * 100;
  const machine = machineTicks();
  const drops = inboundDrops(target) - dropsBefore;
  const udp = udpErrors();
  const machineBusyPct =
    machine.total > machineBefore.total
      ? ((machine.busy - machineBefore.busy) / (machine.total - machineBefore.total)) * 100
      : 0;
  const why = [
    opened.sessions < clients
      ? `${clients - opened.sessions} sessions refused or failed (${opened.firstError ?? '?'})`
      : '',
    window.silent > 0 ? `${window.silent} sessions received nothing` : '',
    window.lossPct >= LOSS_TARGET_PCT ? `loss ${window.lossPct.toFixed(3)} %` : '',
    window.fpsTotal < MIN_RATE_SHARE * o.fps * clients
      ? `${window.fpsTotal.toFixed(0)} of ${o.fps * clients} frames/s`
      : '',
  ]
    .filter((x) => x !== '')
    .join('; ');
  const sustained = why === '';
  const limitedBy = sustained
    ? null
    : window.generatorCpuPct >= GENERATOR_LIMIT_PCT
      ? 'generator'
      : machineBusyPct >= MACHINE_LIMIT_PCT
        ? 'machine'
        : null;
  return {
    clients,
    opened,
    window,
    serverCpuPct,
    machineBusyPct,
    inboundDrops: drops,
    udpRcvbufErrors: udp.rcvbuf - udpBefore.rcvbuf,
    udpSndbufErrors: udp.sndbuf - udpBefore.sndbuf,
    retried,
    sustained,
    everySession: sustained && window.worstLossPct < LOSS_TARGET_PCT,
    why,
    limitedBy,
  };
}

function inboundDrops(target: CapacityTarget): number {
  if (target.inboundSockets === undefined) return 0;
  const sockets = udpSockets();
  return target.inboundSockets.reduce((n, key) => n + (sockets.get(key)?.drops ?? 0), 0);
}

/** The kernel's UDP buffer error counters (/proc/net/snmp). */
function udpErrors(): { rcvbuf: number; sndbuf: number } {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const names = (lines[0] ?? '').split(/\s+/);
    const values = (lines[1] ?? '').split(/\s+/).map(Number);
    return { rcvbuf: values[names.indexOf('RcvbufErrors')] ?? 0, sndbuf: values[names.indexOf('SndbufErrors')] ?? 0 };
  } catch {
    return { rcvbuf: 0, sndbuf: 0 };
  }
}

/** Busy and total CPU ticks of the whole machine since boot (the "cpu" line of /proc/stat). */
function machineTicks(): { busy: number; total: number } {
  try {
    const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** User + system CPU time of a process and all its threads, ms (Linux /proc; 0 if unreadable). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, in clock ticks (100 per second on Linux).
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

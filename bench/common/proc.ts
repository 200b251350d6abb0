/**
 * What the kernel knows about benchmark processes and sockets (Linux /proc): resident memory,
 * and per-UDP-socket drops, which count datagrams that reached a socket whose receive buffer
 * was full, so a sink slower than the relay under test does not hide what the relay sent.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Memory {
  /** Resident set size now, in kB. */
  readonly rssKb: number;
  /** Peak resident set size, in kB. */
  readonly hwmKb: number;
  /**
   * Anonymous resident memory (heap, stacks), in kB: what this process alone costs. The rest of
   * VmRSS is mostly the node binary's code, mapped from one file and shared by every node process.
   */
  readonly anonKb: number;
  /**
   * Proportional set size, in kB (smaps_rollup): private pages plus each shared page divided by the
   * processes sharing it, so summed over processes it is what they cost the machine together.
   */
  readonly pssKb: number;
}

/** VmRSS and VmHWM of a process, or null if it is gone or /proc is unavailable. */
export function processMemory(pid: number): Memory | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string): number | null => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m?.[1] === undefined ? null : Number(m[1]);
  };
  const rssKb = field('VmRSS');
  const hwmKb = field('VmHWM');
  const anonKb = field('RssAnon') ?? rssKb;
  if (rssKb === null || hwmKb === null || anonKb === null) return null;
  let pssKb = rssKb;
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    if (m?.[1] !== undefined) pssKb = Number(m[1]);
  } catch {
    // No smaps_rollup (before Linux 4.14, or the process is gone): PSS reads as the RSS.
  }
  return { rssKb, hwmKb, anonKb, pssKb };
}

let ticksPerSecond: number | null = null;

/** Clock ticks per second of /proc/PID/stat's times (getconf CLK_TCK; 100 on Linux if it cannot say). */
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds a process has used so far (user + system, /proc/PID/stat), or null if it is gone. */
export function processCpuSeconds(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / clockTicks() : null;
}

export interface UdpSocketStats {
  readonly drops: number;
  readonly rxQueueBytes: number;
}

/** Drops and queued bytes of every IPv4 UDP socket, keyed "address:port". */
export function udpSockets(): Map<string, UdpSocketStats> {
  const out = new Map<string, UdpSocketStats>();
  let text: string;
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    const local = f[1];
    const queues = f[4];
    const drops = f[12];
    if (local === undefined || queues === undefined || drops === undefined) continue;
    const [ipHex, portHex] = local.split(':');
    if (ipHex === undefined || portHex === undefined || ipHex.length !== 8) continue;
    // The address is a little-endian 32-bit word in hex.
    const ip = [6, 4, 2, 0].map((i) => parseInt(ipHex.slice(i, i + 2), 16)).join('.');
    out.set(`${ip}:${parseInt(portHex, 16)}`, {
      drops: Number(drops),
      rxQueueBytes: parseInt(queues.split(':')[1] ?? '0', 16),
    });
  }
  return out;
}

/**
 * What the kernel knows about benchmark processes and sockets (Linux /proc): resident memory,
 * and per-UDP-socket drops, which count datagrams that reached a socket whose receive buffer
 * was full, so a sink slower than the relay under test does not hide what the relay sent.
 */
import { readFileSync } from 'node:fs';

export interface Memory {
  /** Resident set size now, in kB. */
  readonly rssKb: number;
  /** Peak resident set size, in kB. */
  readonly hwmKb: number;
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
  return rssKb === null || hwmKb === null ? null : { rssKb, hwmKb };
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

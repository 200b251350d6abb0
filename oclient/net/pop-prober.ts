/**
 * Measures the RTT to each POP with small UDP pings to its overlay port (the POP answers with a
 * pong at once): no ICMP, no root. The median of several probes smooths out one slow answer.
 */
import { createSocket } from 'node:dgram';
import { decodeOverlay, encodeOverlay } from '../../common/wire/overlay.ts';

export const PROBES_PER_POP = 5;
/**
 * A POP that answered none of the first probes within the timeout is asked again this often,
 * until RETRY_TIMEOUT_MS in all: a busy or just-started POP is not written off after one second.
 */
export const RETRY_INTERVAL_MS = 250;
export const RETRY_TIMEOUT_MS = 3000;

export interface PopRtt {
  readonly name: string;
  readonly address: string;
  /** Median RTT in ms, or null when no probe was answered. */
  readonly rttMs: number | null;
  readonly answered: number;
}

export async function probePops(
  pops: readonly { name: string; address: string }[],
  port: number,
  localAddress?: string,
  timeoutMs = 1000,
): Promise<PopRtt[]> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, localAddress, () => resolve());
  });
  socket.on('error', () => {});
  const rtts = new Map<number, number[]>(pops.map((_, i) => [i, []]));
  socket.on('message', (buf) => {
    const d = decodeOverlay(buf);
    if (!d.ok || d.value.message.type !== 'pong') return;
    const { id, sentAt } = d.value.message;
    const pop = Math.floor(id / PROBES_PER_POP);
    rtts.get(pop)?.push(performance.now() - sentAt);
  });
  const ping = (i: number, round: number): void => {
    const msg = encodeOverlay('client', { type: 'ping', id: i * PROBES_PER_POP + round, sentAt: performance.now() });
    socket.send(msg, port, pops[i]!.address);
  };
  const silent = (): number[] => [...rtts].filter(([, r]) => r.length === 0).map(([i]) => i);
  try {
    for (let round = 0; round < PROBES_PER_POP; round++) {
      for (let i = 0; i < pops.length; i++) ping(i, round);
      await sleep(20);
    }
    const started = performance.now();
    const deadline = started + timeoutMs;
    while (performance.now() < deadline && [...rtts.values()].some((r) => r.length < PROBES_PER_POP)) await sleep(10);
    const retryDeadline = started + Math.max(timeoutMs, RETRY_TIMEOUT_MS);
    for (let round = 0; silent().length > 0 && performance.now() < retryDeadline; round++) {
      for (const i of silent()) ping(i, round % PROBES_PER_POP);
      const next = performance.now() + RETRY_INTERVAL_MS;
      while (performance.now() < next && silent().length > 0) await sleep(10);
    }
  } finally {
    socket.close();
  }
  return pops.map((p, i) => {
    const r = (rtts.get(i) ?? []).sort((a, b) => a - b);
    return {
      name: p.name,
      address: p.address,
      rttMs: r.length === 0 ? null : (r[Math.floor(r.length / 2)] ?? null),
      answered: r.length,
    };
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

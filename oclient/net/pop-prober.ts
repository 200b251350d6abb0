/**
 * Measures the RTT to each POP with small UDP pings to its overlay port (the POP answers with a
 * pong at once): no ICMP, no root. The median of several probes smooths out one slow answer.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeOverlay, encodeOverlay } from '../../common/wire/overlay.ts';

export const PROBES_PER_POP = 5;
/**
 * When no POP at all answered the first probes within the timeout, they are all asked again this
 * often, until RETRY_TIMEOUT_MS in all: a lone busy or just-started POP is not written off after one
 * second. Once any POP answered, silent ones are left to failover (they are on its list anyway).
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

/**
 * A pong counts only if it answers a ping this client sent (a random id, used once), comes from
 * that POP's address, and is timed by the client's own clock: a forged pong can neither pick the
 * POP (a negative RTT) nor count twice.
 */
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
  const rtts = pops.map((): number[] => []);
  const inFlight = new Map<number, { pop: number; sentAt: number }>();
  let nextId = randomInt(0x1_0000_0000);
  socket.on('message', (buf, rinfo) => {
    const d = decodeOverlay(buf);
    if (!d.ok || d.value.message.type !== 'pong') return;
    const sent = inFlight.get(d.value.message.id);
    if (sent === undefined || rinfo.address !== pops[sent.pop]?.address || rinfo.port !== port) return;
    inFlight.delete(d.value.message.id);
    rtts[sent.pop]?.push(performance.now() - sent.sentAt);
  });
  const ping = (pop: number): void => {
    const id = nextId;
    nextId = (nextId + 1) >>> 0;
    const sentAt = performance.now();
    inFlight.set(id, { pop, sentAt });
    socket.send(encodeOverlay('client', { type: 'ping', id, sentAt }), port, pops[pop]!.address);
  };
  const noneAnswered = (): boolean => rtts.every((r) => r.length === 0);
  try {
    for (let round = 0; round < PROBES_PER_POP; round++) {
      for (let i = 0; i < pops.length; i++) ping(i);
      await sleep(20);
    }
    const started = performance.now();
    const deadline = started + timeoutMs;
    while (performance.now() < deadline && rtts.some((r) => r.length < PROBES_PER_POP)) await sleep(10);
    const retryDeadline = started + Math.max(timeoutMs, RETRY_TIMEOUT_MS);
    while (noneAnswered() && performance.now() < retryDeadline) {
      for (let i = 0; i < pops.length; i++) ping(i);
      const next = performance.now() + RETRY_INTERVAL_MS;
      while (performance.now() < next && noneAnswered()) await sleep(10);
    }
  } finally {
    socket.close();
  }
  return pops.map((p, i) => {
    const r = (rtts[i] ?? []).sort((a, b) => a - b);
    return {
      name: p.name,
      address: p.address,
      rttMs: r.length === 0 ? null : (r[Math.floor(r.length / 2)] ?? null),
      answered: r.length,
    };
  });
}

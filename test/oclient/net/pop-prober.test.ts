import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeOverlay, encodeOverlay } from '../../../common/wire/overlay.ts';
import { PROBES_PER_POP, probePops, RETRY_TIMEOUT_MS } from '../../../oclient/net/pop-prober.ts';

const POP = '127.0.94.1';
const PORT = 47_441;

/**
 * A POP's ping port that ignores the first `ignored` pings, then answers each with a pong; or, with
 * `forger`, lets that socket answer instead (another address), claiming the ping was sent long ago.
 */
async function popAnsweringAfter(ignored: number, forger?: Socket): Promise<Socket> {
  const s = createSocket('udp4');
  let seen = 0;
  s.on('message', (buf, rinfo) => {
    const d = decodeOverlay(buf);
    if (!d.ok || d.value.message.type !== 'ping' || seen++ < ignored) return;
    const { id, sentAt } = d.value.message;
    const pong = encodeOverlay('p1', { type: 'pong', id, sentAt: forger ? 1e12 : sentAt, node: 'p1' });
    (forger ?? s).send(pong, rinfo.port, rinfo.address);
    if (forger) forger.send(pong, rinfo.port, rinfo.address); // and once more: a replay
  });
  await new Promise<void>((resolve) => s.bind(PORT, POP, () => resolve()));
  return s;
}

describe('probePops', () => {
  let pop: Socket | null = null;
  afterEach(() => {
    pop?.close();
    pop = null;
  });

  it('measures a POP that answers every probe', async () => {
    pop = await popAnsweringAfter(0);
    const [r] = await probePops([{ name: 'p1', address: POP }], PORT, '127.0.0.1');
    expect(r?.answered).toBe(PROBES_PER_POP);
    expect(r?.rttMs).not.toBeNull();
  });

  it('asks a POP that answered none of the first probes again, instead of writing it off', async () => {
    pop = await popAnsweringAfter(PROBES_PER_POP);
    const [r] = await probePops([{ name: 'p1', address: POP }], PORT, '127.0.0.1', 200);
    expect(r?.answered).toBeGreaterThanOrEqual(1);
    expect(r?.rttMs).not.toBeNull();
  });

  it('takes no pong from another address, and no sent time from the wire', async () => {
    const forger = createSocket('udp4');
    await new Promise<void>((resolve) => forger.bind(0, '127.0.94.9', () => resolve()));
    pop = await popAnsweringAfter(0, forger);
    try {
      const [r] = await probePops([{ name: 'p1', address: POP }], PORT, '127.0.0.1', 200);
      expect(r).toEqual({ name: 'p1', address: POP, rttMs: null, answered: 0 });
    } finally {
      forger.close();
    }
  }, 10_000);

  it('does not wait on a silent POP once another has answered (failover has it on its list)', async () => {
    pop = await popAnsweringAfter(0);
    const started = performance.now();
    const rtts = await probePops(
      [
        { name: 'p1', address: POP },
        { name: 'p2', address: '127.0.94.2' },
      ],
      PORT,
      '127.0.0.1',
      200,
    );
    expect(rtts.map((r) => r.answered)).toEqual([PROBES_PER_POP, 0]);
    // Retrying would take RETRY_TIMEOUT_MS; this returns soon after the 200 ms timeout.
    expect(performance.now() - started).toBeLessThan(RETRY_TIMEOUT_MS);
  }, 10_000);

  it('gives up on a POP that never answers', async () => {
    const [r] = await probePops([{ name: 'p1', address: POP }], PORT, '127.0.0.1', 200);
    expect(r).toEqual({ name: 'p1', address: POP, rttMs: null, answered: 0 });
  }, 10_000);
});

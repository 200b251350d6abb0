import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeOverlay, encodeOverlay } from '../../../common/wire/overlay.ts';
import { PROBES_PER_POP, probePops } from '../../../oclient/net/pop-prober.ts';

const POP = '127.0.94.1';
const PORT = 47_441;

/** A POP's ping port that ignores the first `ignored` pings, then answers each with a pong. */
async function popAnsweringAfter(ignored: number): Promise<Socket> {
  const s = createSocket('udp4');
  let seen = 0;
  s.on('message', (buf, rinfo) => {
    const d = decodeOverlay(buf);
    if (!d.ok || d.value.message.type !== 'ping' || seen++ < ignored) return;
    const { id, sentAt } = d.value.message;
    s.send(encodeOverlay('p1', { type: 'pong', id, sentAt, node: 'p1' }), rinfo.port, rinfo.address);
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

  it('gives up on a POP that never answers', async () => {
    const [r] = await probePops([{ name: 'p1', address: POP }], PORT, '127.0.0.1', 200);
    expect(r).toEqual({ name: 'p1', address: POP, rttMs: null, answered: 0 });
  }, 10_000);
});

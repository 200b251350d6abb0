/**
 * A client's RTP/RTCP socket pair: RTP on an even port, RTCP on the next one (RFC 3550 §11),
 * which is what RTSP servers (onode's POP included) require of client_port.
 */
import type { Socket } from 'node:dgram';
import { bindUdp } from './listen.ts';

/** Ephemeral ports are odd half the time and the next one may be taken: a few tries suffice. */
export const MAX_PAIR_ATTEMPTS = 32;

/** Binds an even port (chosen by the system) and the odd one after it on `address`. */
export async function bindRtpPortPair(address: string | undefined): Promise<{ rtp: Socket; rtcp: Socket }> {
  let lastError = 'no even port offered';
  for (let attempt = 0; attempt < MAX_PAIR_ATTEMPTS; attempt++) {
    const probe = await bindUdp(address, 0);
    const port = probe.address().port;
    if (port % 2 === 1) {
      // An odd port can be the RTCP half, if the even one below it is free.
      const even = await bindUdp(address, port - 1).catch(() => null);
      if (even !== null) return { rtp: even, rtcp: probe };
      probe.close();
      lastError = `port ${port - 1} is taken`;
      continue;
    }
    try {
      return { rtp: probe, rtcp: await bindUdp(address, port + 1) };
    } catch (err) {
      probe.close();
      lastError = err instanceof Error ? err.message : String(err);
    }
  }
  const where = address ?? 'any address';
  throw new Error(`no free even/odd UDP port pair on ${where} after ${MAX_PAIR_ATTEMPTS} tries: ${lastError}`);
}

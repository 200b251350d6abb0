/**
 * How a network link's impairments are spread over the interfaces an emulator configures.
 * A point-to-point link: each interface sends one way, so each gets the link's delay and loss.
 * A LAN: a packet from one member to another leaves through its own interface and then the
 * switch's port toward the other, two hops, so each member link gets half the delay and the
 * loss that, met twice, makes the link's.
 */
import type { NetworkLink } from '../config/topology.ts';

export interface Impairment {
  readonly delayMs: number;
  readonly lossPct: number;
  readonly rateKbps: number | null;
}

export function pointToPoint(link: NetworkLink): Impairment {
  return { delayMs: link.delayMs, lossPct: link.lossPct, rateKbps: link.rateKbps };
}

export function lanMember(link: NetworkLink): Impairment {
  const perHop = 100 * (1 - Math.sqrt(1 - link.lossPct / 100));
  return { delayMs: link.delayMs / 2, lossPct: Math.round(perHop * 1e6) / 1e6, rateKbps: link.rateKbps };
}

/**
 * The little IPv4 arithmetic topology files need: strict dotted-quad parsing, the /24 rule
 * that tells a direct link from an overlay hop, and the loopback mapping used to run a whole
 * topology on one machine.
 */

export type IPv4Problem = 'malformed' | 'not-unicast';

/**
 * Checks a dotted-quad host address. Leading zeros are refused because some parsers read
 * them as octal ("010" = 8), so the same file would mean different hosts to different tools.
 * Unspecified (0.0.0.0/8), multicast and reserved (224.0.0.0 and up) addresses cannot be a
 * node's address.
 */
export function checkIPv4(text: string): IPv4Problem | null {
  const octets = parseOctets(text);
  if (octets === null) return 'malformed';
  const first = octets[0] ?? 0;
  if (first === 0 || first >= 224) return 'not-unicast';
  return null;
}

export function isIPv4(text: string): boolean {
  return checkIPv4(text) === null;
}

/** True when both addresses lie in the same /24, the project's convention for "directly linked". */
export function sameSlash24(x: string, y: string): boolean {
  const a = parseOctets(x);
  const b = parseOctets(y);
  if (a === null || b === null) return false;
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

/** The /24 an address is on, e.g. '10.0.6.20' → '10.0.6.0/24' (the address unchanged if malformed). */
export function slash24(address: string): string {
  const o = parseOctets(address);
  return o === null ? address : `${o[0]}.${o[1]}.${o[2]}.0/24`;
}

/**
 * The address a topology address A.B.C.D takes when every node runs on one machine: 127.B.C.D.
 * Linux answers on all of 127.0.0.0/8, so each node keeps a distinct address without setup.
 * @throws RangeError if `address` is not a dotted-quad IPv4 address.
 */
export function toLoopback(address: string): string {
  const octets = parseOctets(address);
  if (octets === null) throw new RangeError(`not an IPv4 address: '${address}'`);
  return `127.${octets[1]}.${octets[2]}.${octets[3]}`;
}

/** The last octet of a valid address (0..255). */
export function lastOctet(address: string): number {
  return parseOctets(address)?.[3] ?? -1;
}

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

function parseOctets(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const octets: number[] = [];
  for (const part of parts) {
    if (!OCTET.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    octets.push(value);
  }
  return octets;
}

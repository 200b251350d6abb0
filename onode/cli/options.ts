/** Parsers for command-line values: each failure names the flag and the fix (commander prints it). */
import { InvalidArgumentError } from 'commander';
import { isIPv4 } from '../config/topology-ipv4.ts';
import { MAX_BOOTSTRAPPERS, parseHostPort, parseHostPorts } from '../../common/net/ports.ts';

export function intIn(min: number, max: number, what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n < min || n > max)
      throw new InvalidArgumentError(`expected ${what}, a whole number from ${min} to ${max}`);
    return n;
  };
}

export function numberIn(min: number, max: number, what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected ${what} from ${min} to ${max}`);
    return n;
  };
}

export function ipv4(v: string): string {
  if (!isIPv4(v))
    throw new InvalidArgumentError('expected an IPv4 address such as 10.0.19.1 (on one machine: 127.0.19.1)');
  return v;
}

export function hostPort(defaultPort: number): (v: string) => { host: string; port: number } {
  return (v) => {
    const hp = parseHostPort(v, defaultPort);
    if (hp === null)
      throw new InvalidArgumentError(`expected ADDRESS or ADDRESS:PORT, e.g. 10.0.25.10 or 127.0.25.10:${defaultPort}`);
    return hp;
  };
}

/** One bootstrapper or several, comma-separated (tried in order): ADDRESS[:PORT],ADDRESS[:PORT]... */
export function hostPorts(defaultPort: number): (v: string) => { host: string; port: number }[] {
  return (v) => {
    const list = parseHostPorts(v, defaultPort);
    if (list === null)
      throw new InvalidArgumentError(
        `expected ADDRESS[:PORT] or a comma-separated list of up to ${MAX_BOOTSTRAPPERS}, each once, ` +
          `e.g. 10.0.25.10 or 127.0.25.10:${defaultPort},127.0.26.10:${defaultPort}`,
      );
    return list;
  };
}

/** --bootstrapper NAME, or NAME,NAME... (standbys after the first), as the topology loader takes it. */
export function bootstrapperNames(v: string): string | string[] {
  return v.includes(',') ? v.split(',').map((n) => n.trim()) : v;
}

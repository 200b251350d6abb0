/**
 * Readers for the untyped values JSON5 gives us. Each one either returns a well-typed value or
 * throws a TopologyError that points at the exact field and says how to repair it.
 */
import { TopologyError } from './topology-error.ts';
import { checkIPv4 } from './topology-ipv4.ts';

/** Node and client names travel in protocol messages and on command lines; keep them short and plain. */
export const MAX_NAME_LENGTH = 32;
const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

export const IPV4_FIX = "write four decimal numbers 0-255 separated by dots, without leading zeros, e.g. '10.0.19.1'";

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How a wrong value is named in a message: "a list", "the number -3", "the string 'x'". */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string '${value}'`;
  if (typeof value === 'number') return `the number ${value}`;
  return `${typeof value} ${String(value)}`;
}

/** "node 'o3'" + "addresses[1]" → "node 'o3', field 'addresses[1]'". */
export function at(owner: string, field?: string): string {
  return field === undefined ? owner : `${owner}, field '${field}'`;
}

/** Throws on the first key of `obj` not in `known`, suggesting the closest known key. */
export function rejectUnknownKeys(
  obj: Record<string, unknown>,
  known: readonly string[],
  file: string,
  owner: string,
  hints: Readonly<Record<string, string>> = {},
): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const listing = `known fields: ${known.join(', ')}`;
    const hint = Object.hasOwn(hints, key) ? hints[key] : undefined;
    const close = closestKey(key, known);
    const fix =
      hint !== undefined
        ? `${hint} (${listing})`
        : close !== null
          ? `rename it to '${close}' (${listing})`
          : `remove it (${listing})`;
    throw new TopologyError(file, at(owner, key), `'${key}' is not a known field`, fix);
  }
}

/**
 * The known key a typo most likely meant: one that extends or shortens it ("delay" → "delayMs"),
 * else the nearest by edit distance if the distance is small for the key's length.
 */
export function closestKey(key: string, known: readonly string[]): string | null {
  const lower = key.toLowerCase();
  if (lower.length >= 3) {
    const extension = known.find((k) => k.toLowerCase().startsWith(lower) || lower.startsWith(k.toLowerCase()));
    if (extension !== undefined) return extension;
  }
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.ceil(key.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Node and client names: a letter, then letters, digits, '-' or '_'. */
export function checkName(name: string, file: string, owner: string): void {
  if (name.length > MAX_NAME_LENGTH) {
    throw new TopologyError(file, owner, `the name is ${name.length} characters long`, `use at most ${MAX_NAME_LENGTH} characters`);
  }
  if (!NAME.test(name)) {
    throw new TopologyError(
      file,
      owner,
      'the name is not usable',
      "start it with a letter and use only letters, digits, '-' and '_' (e.g. 'o3', 'pop-north')",
    );
  }
}

/** A single IPv4 address at `field`; throws with a precise problem if it is not one. */
export function readAddress(value: unknown, file: string, owner: string, field: string): string {
  if (typeof value !== 'string') {
    throw new TopologyError(file, at(owner, field), `expected an IPv4 address, got ${describeValue(value)}`, `write it as a quoted string, e.g. '10.0.19.1'`);
  }
  switch (checkIPv4(value)) {
    case null:
      return value;
    case 'malformed':
      throw new TopologyError(file, at(owner, field), `'${value}' is not a valid IPv4 address`, IPV4_FIX);
    case 'not-unicast':
      throw new TopologyError(
        file,
        at(owner, field),
        `'${value}' is not a host address (0.x.x.x, multicast and reserved ranges cannot be assigned to a host)`,
        "use a unicast address, e.g. in 10.0.0.0/8",
      );
  }
}

/**
 * A list of distinct IPv4 addresses at `field`.
 * @param allowEmpty whether `[]` is acceptable (default false)
 */
export function readAddressList(
  value: unknown,
  file: string,
  owner: string,
  field: string,
  allowEmpty = false,
): string[] {
  if (value === undefined) {
    throw new TopologyError(file, at(owner, field), 'is missing', `add ${field}: ['10.0.0.1', ...] with the host's IPv4 addresses`);
  }
  if (!Array.isArray(value)) {
    throw new TopologyError(file, at(owner, field), `expected a list of IPv4 addresses, got ${describeValue(value)}`, `write it as ['10.0.0.1', ...]`);
  }
  if (value.length === 0 && !allowEmpty) {
    throw new TopologyError(file, at(owner, field), 'the list is empty', 'list at least one IPv4 address');
  }
  const addresses: string[] = [];
  value.forEach((item: unknown, i) => {
    const address = readAddress(item, file, owner, `${field}[${i}]`);
    const earlier = addresses.indexOf(address);
    if (earlier >= 0) {
      throw new TopologyError(file, at(owner, `${field}[${i}]`), `'${address}' is already ${field}[${earlier}]`, 'remove the duplicate');
    }
    addresses.push(address);
  });
  return addresses;
}

/** An optional finite number accepted by `valid`; `fallback` when absent. */
export function readNumber<D extends number | null>(
  value: unknown,
  fallback: D,
  file: string,
  where: string,
  valid: (n: number) => boolean,
  wanted: string,
  example: string,
): number | D {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !valid(value)) {
    throw new TopologyError(file, where, `expected ${wanted}, got ${describeValue(value)}`, `write e.g. ${example}`);
  }
  return value;
}

/**
 * Small helpers for topology messages: how a wrong value is named, where a problem is, and the
 * closest known name for a typo. The rules themselves are in topology-schema.ts.
 */

/** Node and client names travel in protocol messages and on command lines; keep them short and plain. */
export const MAX_NAME_LENGTH = 32;

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

/** Per field name people write by mistake: where it went. */
export type Hints = Readonly<Record<string, string>>;

/** How to fix an unknown field `key`: the hint for it, else a rename to the closest known field, else removal. */
export function unknownFieldFix(key: string, known: readonly string[], hints: Hints = {}): string {
  const listing = `known fields: ${known.join(', ')}`;
  const hint = Object.hasOwn(hints, key) ? hints[key] : undefined;
  if (hint !== undefined) return `${hint} (${listing})`;
  const close = closestKey(key, known);
  return close !== null ? `rename it to '${close}' (${listing})` : `remove it (${listing})`;
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

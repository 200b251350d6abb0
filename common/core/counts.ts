/** Counts per key in a Map, where a key whose count drops to zero leaves the map (so it stays bounded). */
export function incrementCount<K>(counts: Map<K, number>, key: K): number {
  const n = (counts.get(key) ?? 0) + 1;
  counts.set(key, n);
  return n;
}

export function decrementCount<K>(counts: Map<K, number>, key: K): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}

/**
 * A 32-bit digest of a server's catalogue: probes carry it instead of the catalogue itself, and
 * a node whose copy has another digest asks for the catalogue (it changes rarely, probes are
 * frequent, and idle links must stay quiet).
 */
import { fnv1a } from '../../common/core/fnv1a.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';

export function catalogueDigest(movies: readonly MovieInfo[]): number {
  const text = [...movies]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((m) => `${m.name}|${m.fps}|${m.width}|${m.height}|${m.frames}`)
    .join('\n');
  return fnv1a(text);
}

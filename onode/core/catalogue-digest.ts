/**
 * A server's catalogue digest: route updates carry it instead of the catalogue, a node whose copy has
 * another digest fetches the catalogue in parts, and installs what it assembled only if the
 * digest matches what the server's routes announce.
 *
 * The first 48 bits of SHA-256 over the canonical form (movies in name order, as the wire's
 * tuples): an integer JSON carries exactly. Link MACs already keep outsiders' catalogues out;
 * this is the second line, and a 32-bit FNV-1a (what it was) lets anyone craft a catalogue
 * with the digest of the genuine one in seconds, where 48 bits of SHA-256 cost ~2^47 hashes.
 * Accidental collisions are out of reach either way.
 */
import { createHash } from 'node:crypto';
import { movieTupleOf } from '../../common/wire/overlay-control.ts';
import { sortCatalogue } from '../../common/wire/control-split.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';

const memo = new WeakMap<readonly MovieInfo[], number>();

/** The digest of a catalogue; remembered per array, as a server's own catalogue is asked for on every probe. */
export function catalogueDigest(movies: readonly MovieInfo[]): number {
  const known = memo.get(movies);
  if (known !== undefined) return known;
  const canonical = JSON.stringify(sortCatalogue(movies).map(movieTupleOf));
  const digest = createHash('sha256').update(canonical, 'utf8').digest().readUIntBE(0, 6);
  memo.set(movies, digest);
  return digest;
}

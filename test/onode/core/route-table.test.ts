import { describe, expect, it } from 'vitest';
import type { MovieInfo } from '../../../common/wire/overlay.ts';
import { catalogueDigest } from '../../../onode/core/catalogue-digest.ts';
import { MAX_KNOWN_MOVIES, MAX_SERVERS, RouteTable, UNREACHABLE_MEMORY_MS } from '../../../onode/core/route-table.ts';

const movie = (name: string): MovieInfo => ({ name, fps: 25, width: 320, height: 240, frames: 10 });
const entry = (via: string, latencyMs: number, hops: number, seq: number, updatedAt = 0) => ({
  server: 's1',
  via,
  latencyMs,
  hops,
  seq,
  updatedAt,
});
const CV_M = catalogueDigest([movie('m')]);

/** A probe announcing `movies`' digest, then that catalogue installed (as catalogue-sync does once assembled). */
function learn(t: RouteTable, e: ReturnType<typeof entry>, movies: MovieInfo[]): boolean {
  const accepted = t.update(e, catalogueDigest(movies));
  t.setCatalogue(e.server, catalogueDigest(movies), movies);
  return accepted;
}

describe('RouteTable', () => {
  it("ranks a server's routes fastest first, then by fewer hops, then by neighbour name", () => {
    const t = new RouteTable();
    for (const e of [entry('d', 20, 5, 1), entry('c', 10, 4, 1), entry('b', 10, 2, 1), entry('a', 10, 2, 1)]) {
      t.set(e, CV_M);
    }
    expect(t.fastestFirst('s1').map((e) => e.via)).toEqual(['a', 'b', 'c', 'd']);
    expect(t.fastestFirst('nobody')).toEqual([]);
  });

  it('keeps the best copy per neighbour within a sequence number and the newest across them', () => {
    const t = new RouteTable();
    expect(t.update(entry('a', 30, 3, 1), CV_M)).toBe(true);
    expect(t.update(entry('a', 40, 2, 1), CV_M)).toBe(false);
    expect(t.update(entry('a', 25, 4, 1), CV_M)).toBe(true);
    expect(t.update(entry('a', 50, 4, 2), CV_M)).toBe(true);
    expect(t.update(entry('a', 10, 1, 1), CV_M)).toBe(false);
    expect(t.best('s1')).toMatchObject({ via: 'a', latencyMs: 50, seq: 2 });
  });

  it('orders entries by the route metric and honours the usable filter', () => {
    const t = new RouteTable();
    t.update(entry('a', 100, 5, 1), CV_M);
    t.update(entry('b', 108, 2, 1), CV_M);
    t.update(entry('c', 150, 1, 1), CV_M);
    expect(t.entries('s1').map((e) => e.via)).toEqual(['b', 'a', 'c']);
    expect(t.best('s1', (v) => v !== 'b')?.via).toBe('a');
  });

  it('remembers an unreachable server only to say its movies exist, not to offer them', () => {
    const t = new RouteTable();
    learn(t, entry('a', 10, 1, 1), [movie('m')]);
    expect(t.hasMovie('m')).toBe(true);
    t.removeVia('a', 100);
    expect(t.knownServers()).toEqual([]);
    expect(t.hasMovie('m')).toBe(false);
    expect(t.knowsMovie('m')).toBe(true);
    expect(t.catalogue()).toEqual([]);
    expect(t.bestForMovie('m')).toBeUndefined();
    t.expire(100 + UNREACHABLE_MEMORY_MS, 3500);
    expect(t.knowsMovie('m')).toBe(true);
    t.expire(101 + UNREACHABLE_MEMORY_MS, 3500);
    expect(t.knowsMovie('m')).toBe(false);
  });

  it('expires routes that stopped being refreshed', () => {
    const t = new RouteTable();
    learn(t, entry('a', 10, 1, 1, 0), [movie('m')]);
    learn(t, entry('b', 12, 1, 1, 2000), [movie('m')]);
    t.expire(4000, 3500);
    expect(t.entries('s1').map((e) => e.via)).toEqual(['b']);
    t.expire(6000, 3500);
    expect(t.knownServers()).toEqual([]);
    expect(t.knowsMovie('m')).toBe(true);
  });

  it('takes a restarted server’s new catalogue although its sequence numbers went back to 1', () => {
    const t = new RouteTable();
    learn(t, entry('a', 10, 1, 500), [movie('old')]);
    t.removeVia('a', 0);
    learn(t, entry('a', 10, 1, 1), [movie('new')]);
    expect(t.catalogue().map((m) => m.name)).toEqual(['new']);
    expect(t.knowsMovie('old')).toBe(false);
  });

  it('installs only the catalogue whose digest the newest probe announced', () => {
    const t = new RouteTable();
    const real = [movie('a'), movie('b')];
    expect(t.setCatalogue('s1', catalogueDigest(real), real)).toBe(false); // no probe yet: unsolicited
    t.update(entry('n', 10, 1, 5), catalogueDigest(real));
    expect(t.announcedVersion('s1')).toBe(catalogueDigest(real));
    expect(t.setCatalogue('s1', catalogueDigest([]), [])).toBe(false); // an empty one the probe did not announce
    expect(t.setCatalogue('s1', catalogueDigest(real), real)).toBe(true);
    expect(t.catalogueOf('s1')).toEqual({ cv: catalogueDigest(real), movies: real });
    // An older probe copy does not change what is announced.
    t.update(entry('m', 12, 2, 4), catalogueDigest([]));
    expect(t.announcedVersion('s1')).toBe(catalogueDigest(real));
    expect(t.setCatalogue('s1', catalogueDigest([]), [])).toBe(false);
    expect(t.catalogue().map((m) => m.name)).toEqual(['a', 'b']);
    // The server says its catalogue is now empty: then, and only then, the empty one replaces it.
    t.update(entry('n', 10, 1, 6), catalogueDigest([]));
    expect(t.setCatalogue('s1', catalogueDigest([]), [])).toBe(true);
    expect(t.catalogue()).toEqual([]);
  });

  it('keeps routes for at most MAX_SERVERS servers', () => {
    const t = new RouteTable();
    for (let i = 0; i < MAX_SERVERS; i++) {
      expect(t.update({ ...entry('a', 1, 1, 1), server: `s${i}` }, CV_M)).toBe(true);
    }
    expect(t.update({ ...entry('a', 1, 1, 1), server: 'one-too-many' }, CV_M)).toBe(false);
    expect(t.ignoredServers).toBe(1);
    expect(t.knownServers()).toHaveLength(MAX_SERVERS);
  });

  it('installs at most MAX_KNOWN_MOVIES movies over all catalogues; a forgotten server frees its share', () => {
    const t = new RouteTable();
    const tenThousand = Array.from({ length: 10_000 }, (_, i) => movie(`m${i}`));
    const servers = Array.from({ length: MAX_KNOWN_MOVIES / 10_000 + 1 }, (_, i) => `s${i}`);
    const installed = servers.map((server) => {
      t.update({ ...entry('a', 1, 1, 1), server }, catalogueDigest(tenThousand));
      return t.setCatalogue(server, catalogueDigest(tenThousand), tenThousand);
    });
    expect(installed.filter(Boolean)).toHaveLength(MAX_KNOWN_MOVIES / 10_000);
    expect(installed.at(-1)).toBe(false);
    expect(t.refusedCatalogues).toBe(1);
    // A refused catalogue is not worth fetching again while nothing has changed.
    expect(t.needsCatalogue(servers.at(-1)!, catalogueDigest(tenThousand))).toBe(false);
    // s0 becomes unreachable and is forgotten: the last server's catalogue now fits.
    t.update({ ...entry('b', 1, 1, 2, 10_000), server: servers.at(-1)! }, catalogueDigest(tenThousand));
    t.removeVia('a', 0);
    t.expire(UNREACHABLE_MEMORY_MS + 1, 3500);
    expect(t.needsCatalogue(servers.at(-1)!, catalogueDigest(tenThousand))).toBe(true);
    expect(t.setCatalogue(servers.at(-1)!, catalogueDigest(tenThousand), tenThousand)).toBe(true);
  });

  it('merges the catalogue union again only after a change', () => {
    const t = new RouteTable();
    learn(t, entry('a', 10, 1, 1), [movie('x')]);
    const first = t.catalogue();
    expect(t.catalogue()).toBe(first);
    t.removeVia('a', 5);
    expect(t.catalogue()).toEqual([]);
  });
});

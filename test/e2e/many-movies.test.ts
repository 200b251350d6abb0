/**
 * A server with 2,000 movies (a hundred of them with 255-byte names) on the chain topology, real
 * processes on loopback: its whole catalogue reaches the POP three hops away, which serves the
 * last movie of the list; nothing is refused as too big on the way, and a file whose name cannot
 * be a movie name is skipped with a message naming it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeJpeg } from '../../common/samples/jpeg-encoder.ts';
import { encodeMovie } from '../../common/media/movie-file.ts';
import { renderPattern } from '../../common/samples/test-pattern.ts';
import { decodedFrames, LoopbackRun, matchConsecutive, ROOT } from './loopback-harness.ts';

const MOVIES = 2000;
const LONG = 100;
/** Sorts after every other name; short, because today a DATA datagram still carries the name. */
const LAST = 'zz-last.mjpeg';

const movies = mkdtempSync(join(tmpdir(), 'onode-many-movies-'));
const names: string[] = [];
beforeAll(() => {
  // One-frame movies: each file costs the server almost nothing to load.
  const file = (n: number): Buffer =>
    encodeMovie([encodeJpeg(renderPattern('bars', n, 64, 48), { quality: 75, sampling: '420' })], 'lab');
  const common = file(1);
  for (let i = 0; i < MOVIES - 1; i++) {
    const head = i < LONG ? `long-${String(i).padStart(4, '0')}-` : `m-${String(i).padStart(4, '0')}`;
    const room = 255 - head.length - '.mjpeg'.length; // 'é' is two bytes
    const name = i < LONG ? `${head}${'é'.repeat(room >> 1)}${'x'.repeat(room & 1)}.mjpeg` : `${head}.mjpeg`;
    names.push(name);
    writeFileSync(join(movies, name), common);
  }
  names.push(LAST);
  writeFileSync(join(movies, LAST), file(7));
  writeFileSync(join(movies, 'bell\u0007.mjpeg'), common);
});
afterAll(() => rmSync(movies, { recursive: true, force: true }));

describe('a server with 2,000 movies on loopback', () => {
  const ports = { bootstrap: 17420, overlay: 14820, status: 17500, rtsp: 18920 };
  const run = new LoopbackRun(join(ROOT, 'topologies/chain.json5'), movies, ports);
  beforeAll(() => run.start());
  afterAll(() => run.stop());

  it('gets its whole catalogue to the POP, which serves the last movie of the list', async () => {
    expect(Buffer.byteLength(names[0]!)).toBe(255);
    const deadline = Date.now() + 30_000;
    let catalogue: readonly { name: string }[] = [];
    while (catalogue.length < MOVIES) {
      if (Date.now() > deadline) {
        throw new Error(`p1 has ${catalogue.length} of ${MOVIES} movies:\n${run.lines.slice(-20).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
      catalogue = await run.status('p1').then(
        (s) => s.catalogue ?? [],
        () => [],
      );
    }
    expect(catalogue.map((m) => m.name)).toEqual([...names].sort());
    expect(catalogue.at(-1)?.name).toBe(LAST);

    const out = join(run.dir, 'last.mjpeg');
    const c = await run.client([
      '--address',
      '127.2.100.20',
      '--movie',
      LAST,
      '--headless',
      '--duration',
      '2',
      '--output',
      out,
    ]);
    expect(c.code, c.stderr).toBe(0);
    const stats = JSON.parse(c.stdout) as { framesReceived: number; pop: string };
    expect(stats.pop).toBe('p1');
    expect(stats.framesReceived).toBeGreaterThan(20);
    expect(matchConsecutive(decodedFrames(out), decodedFrames(join(movies, LAST)))).toBe(stats.framesReceived);

    for (const node of ['s1', 'n1', 'n2', 'p1']) {
      const counters = (await run.status(node)).counters;
      expect(counters?.transport?.oversize, node).toBe(0);
      expect(counters?.routing?.catalogueRejected, node).toBe(0);
    }
    const complaint =
      'skipped movie file "bell\\u0007.mjpeg" cannot be a movie name: ' +
      'the name contains the control character U+0007';
    expect(run.lines.some((l) => l.includes(complaint))).toBe(true);
  }, 60_000);
});

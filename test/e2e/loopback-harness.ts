/**
 * Runs a topology on loopback with real processes (the compiled CLI in dist/, which `npm test`
 * builds first) on ports of its own, so a demo running on the same machine does not collide.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll } from 'vitest';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import { LoopbackRun as Run, type RunPorts } from '../../onode/emulators/loopback-run.ts';
import { splitMovie } from '../../common/media/movie-file.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ONODE = join(ROOT, 'dist/onode/cli/main.js');
export const OCLIENT = join(ROOT, 'dist/oclient/cli/main.js');

export type TestPorts = RunPorts;

/**
 * One overlay for a whole test file: sample movies (`frames` each) in a temporary directory, the
 * topology started and converged before the first test, everything stopped and removed after the
 * last. Call it at the top of a file or describe; the run it returns is ready inside the tests.
 */
export function suiteRun(
  file: string,
  ports: TestPorts,
  opts: { frames?: number; extraArgs?: string[]; prepare?: (moviesDir: string) => Promise<void> } = {},
): LoopbackRun {
  const movies = mkdtempSync(join(tmpdir(), 'onode-movies-'));
  const run = new LoopbackRun(file, movies, ports, opts.extraArgs);
  beforeAll(async () => {
    makeSampleMovies(movies, { frames: opts.frames ?? 40 });
    await opts.prepare?.(movies);
    run.start();
    await run.converged();
  }, 60_000);
  afterAll(async () => {
    await run.stop();
    rmSync(movies, { recursive: true, force: true });
  });
  return run;
}

/**
 * The shared loopback run (onode/emulators/loopback-run.ts) with the tests' defaults: this
 * checkout's dist/, and probes every 300 ms so failures are noticed quickly.
 */
export class LoopbackRun extends Run {
  declare readonly moviesDir: string;

  constructor(file: string, moviesDir: string, ports: TestPorts, extraArgs: readonly string[] = []) {
    super(file, ports, { dist: join(ROOT, 'dist'), moviesDir, nodeArgs: ['--probe-interval', '300', ...extraArgs] });
  }
}

/** Decoded RGBA pixels of every frame in a movie file (either format). */
export function decodedFrames(path: string): Buffer[] {
  const split = splitMovie(readFileSync(path), path);
  if (!split.ok) throw new Error(`${path}: ${split.detail}`);
  return split.value.frames.map((f) => Buffer.from(jpeg.decode(f.jpeg, { useTArray: true, formatAsRGBA: true }).data));
}

/**
 * Asserts the received frames are consecutive frames of the source, pixel for pixel (the live
 * channel loops, so the first one may be any frame). Returns the number compared.
 */
export function matchConsecutive(received: Buffer[], source: Buffer[]): number {
  if (received.length === 0) throw new Error('no frames received');
  const start = source.findIndex((f) => f.equals(received[0] as Buffer));
  if (start < 0) throw new Error('the first received frame matches no source frame');
  received.forEach((f, i) => {
    const want = source[(start + i) % source.length] as Buffer;
    if (!f.equals(want))
      throw new Error(`received frame ${i} differs from source frame ${(start + i) % source.length}`);
  });
  return received.length;
}

/**
 * How far the source moved from each received frame to the next (the channel loops: modulo its
 * length, so a jump of a whole loop or more is not seen): 1 for the next frame, 0 for a frame
 * repeated, more for frames skipped. Throws when a frame matches no source frame.
 */
export function frameSteps(received: Buffer[], source: Buffer[]): number[] {
  const index = received.map((f, i) => {
    const at = source.findIndex((s) => s.equals(f));
    if (at < 0) throw new Error(`received frame ${i} matches no source frame`);
    return at;
  });
  return index.slice(1).map((at, i) => (at - (index[i] as number) + source.length) % source.length);
}

/**
 * Writes `topologies/mesh.json5` (POPs with two uplinks) without its lossy link into `dir`, so a
 * loss or skip counted there is the failure's, not the link's; returns the file's path.
 */
export function writeLosslessMesh(dir: string): string {
  const file = join(dir, 'mesh-lossless.json5');
  const mesh = readFileSync(join(ROOT, 'topologies/mesh.json5'), 'utf8');
  writeFileSync(file, mesh.replace(/lossPct: \d+/g, 'lossPct: 0'));
  return file;
}

/**
 * Waits (up to `timeoutMs`) until `pop`'s best route to `nearer` is at least `marginMs` shorter than
 * its best to `farther`: right after convergence the links' delays are not yet measured, and a join
 * then may go to either server.
 */
export async function untilNearer(
  run: LoopbackRun,
  pop: string,
  nearer: string,
  farther: string,
  marginMs = 5,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const routes = (await run.status(pop)).routes ?? [];
    const best = (server: string): number =>
      Math.min(...routes.filter((r) => r.server === server).map((r) => r.latencyMs));
    if (best(nearer) + marginMs < best(farther) || Date.now() > deadline) return;
    await new Promise((res) => setTimeout(res, 200));
  }
}

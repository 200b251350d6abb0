/**
 * What the emulator tests (Mininet, CORE) share: the machine's own interfaces, running `onode` to
 * its end, and the check that three clients on the report's three POPs got the source's frames.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { decodedFrames, frameSteps, ONODE } from './loopback-harness.ts';

/** Interface names in the machine's own network namespace. */
export function rootInterfaces(): string[] {
  const out = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout ?? '';
  return out
    .split('\n')
    .filter((l) => l.includes(':'))
    .map((l) => (l.split(':')[1] ?? '').trim().split('@')[0] ?? '');
}

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `onode ARGS...` to its end (at most 170 s). */
export function runOnode(args: readonly string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [ONODE, ...args],
      { timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

interface Stats {
  pop: string;
  movie: string;
  framesReceived: number;
  framesSkipped: number;
  framesRepeated: number;
}

/**
 * c1, c2 and c4 (one per POP of the report topology) wrote frames identical to the source's, in the
 * source's order. A frame jumped over (a viewer that failed over when a starved host fell silent)
 * must be one the client counted in framesSkipped: the movie loops, so the jumps seen in the file
 * (a repeat is a step of 0) agree with that count modulo the movie's length.
 */
export function expectIdenticalFramesAtThreePops(out: string, movies: string): void {
  const seen = new Map<string, string>();
  for (const client of ['c1', 'c2', 'c4']) {
    const s = JSON.parse(readFileSync(join(out, `${client}.stats.json`), 'utf8')) as Stats;
    const said = `${client}'s stats: ${JSON.stringify(s)}`;
    expect(s.framesReceived, said).toBeGreaterThan(100);
    const source = decodedFrames(join(movies, s.movie));
    // On a mismatch the client's own statistics say whether frames were lost, rejected or repaired.
    const steps = (() => {
      try {
        return frameSteps(decodedFrames(join(out, `${client}.mjpeg`)), source);
      } catch (err) {
        throw new Error(`${client}: ${(err as Error).message}; ${said}`);
      }
    })();
    expect(steps.length + 1, said).toBe(s.framesReceived);
    const jumped = steps.reduce((sum, n) => sum + n - 1, 0);
    expect((s.framesSkipped - jumped) % source.length, `${jumped} frames jumped over; ${said}`).toBe(0);
    expect(s.framesRepeated, said).toBe(0);
    seen.set(s.pop, client);
  }
  expect([...seen.keys()].sort()).toEqual(['o5', 'o6', 'o7']);
}

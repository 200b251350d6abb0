/**
 * Bootstrapper failover with real processes on loopback: the lossless mesh with two bootstrappers
 * (`bootstrapper: ['s2', 's1']`), kill -9 of the first, and the time from the kill until a client
 * given both (`oclient --bootstrapper s2,s1`, loginFirst) is welcomed again, and until the dead
 * bootstrapper's neighbour r3 sees it dead (the other bootstrapper tells it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { loginFirst } from '../../oclient/net/login.ts';
import type { LoopbackRun } from '../../onode/emulators/loopback-run.ts';

/** How long a trial waits for a login or the neighbour's verdict before it counts as none. */
const GIVE_UP_MS = 10_000;
const POLL_MS = 10;

export interface BootstrapperTrial {
  /** Kill → first welcome, ms (null: none within GIVE_UP_MS). */
  readonly loginMs: number | null;
  /** Kill → r3's GET /status shows s2 not alive, ms. */
  readonly neighbourMs: number | null;
}

/** Writes the two-bootstrapper variant of a mesh topology file next to it; returns its path. */
export function twoBootstrapperTopology(meshFile: string): string {
  const mesh = readFileSync(meshFile, 'utf8');
  const two = mesh.replace("bootstrapper: 's1'", "bootstrapper: ['s2', 's1']");
  if (two === mesh) throw new Error(`${meshFile}: no "bootstrapper: 's1'" to replace`);
  const out = meshFile.replace(/\.json5$/, '-two-bootstrappers.json5');
  writeFileSync(out, two);
  return out;
}

/** Polls `check` until true; the ms from `t0` then, or null after GIVE_UP_MS. */
async function whenTrue(t0: number, check: () => Promise<boolean>): Promise<number | null> {
  while (performance.now() - t0 < GIVE_UP_MS) {
    if (await check().catch(() => false)) return performance.now() - t0;
    await sleep(POLL_MS);
  }
  return null;
}

/** One kill -9 of the first bootstrapper on a converged run (the caller starts and stops it). */
export async function bootstrapperTrial(run: LoopbackRun): Promise<BootstrapperTrial> {
  const [first, second] = run.topology.bootstrappers;
  if (first === undefined || second === undefined) throw new Error('the topology needs two bootstrappers');
  const targets = [first, second].map((b) => ({ host: run.address(b), port: run.ports.bootstrap }));
  const client = [...run.topology.clients.values()][0]?.addresses[0];
  const t0 = performance.now();
  run.emulator.kill(first);
  const [loginMs, neighbourMs] = await Promise.all([
    whenTrue(t0, async () => (await loginFirst(targets, client)).from.host === run.address(second)),
    whenTrue(t0, async () => {
      const n = (await run.status('r3')).neighbours?.find((x) => x.name === first);
      return n?.alive === false;
    }),
  ]);
  return { loginMs, neighbourMs };
}

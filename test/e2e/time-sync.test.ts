/**
 * Servers' clocks against the bootstrapper's on loopback: a second server measures its offset over
 * its registration and shows it in /status. Every process runs on this host's clock, so the offset
 * it finds must be under 1 ms, within an error bound under 1 ms.
 * Starts processes: run under the e2e lock.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SYNC_BURST_SAMPLES } from '../../onode/core/time-sync.ts';
import { ONODE, suiteRun } from './loopback-harness.ts';

const PORTS = { bootstrap: 17760, overlay: 14760, status: 17840, rtsp: 18760 };

/** s1 (the bootstrapper, a server) ── n1 ── s2 (a server), and a POP so the run has somewhere to converge. */
const TOPOLOGY = `{
  bootstrapper: 's1',
  nodes: {
    s1: { role: 'server', addresses: ['10.7.1.1'] },
    n1: { role: 'node', addresses: ['10.7.1.2', '10.7.2.1', '10.7.3.1'] },
    s2: { role: 'server', addresses: ['10.7.2.2'] },
    p1: { role: 'pop', addresses: ['10.7.3.2', '10.7.100.1'], clientAddresses: ['10.7.100.1'] },
  },
  links: [
    { between: ['s1', 'n1'], delayMs: 2 },
    { between: ['n1', 's2'], delayMs: 2 },
    { between: ['n1', 'p1'], delayMs: 2 },
  ],
}`;

describe('time sync on loopback', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onode-time-'));
  const file = join(dir, 'time.json5');
  writeFileSync(file, TOPOLOGY);
  const run = suiteRun(file, PORTS, { frames: 10 });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a second server is synced to the bootstrapper within 1 ms; the bootstrapper is the reference', async () => {
    // The burst takes under a second after registration; a busy machine may need a few more samples.
    const deadline = Date.now() + 15_000;
    let s2 = await run.status('s2');
    const done = (c: typeof s2.clock): boolean => c?.synced === true && (c.errorMs ?? 1) < 1;
    while (!done(s2.clock) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      s2 = await run.status('s2');
    }
    const clock = s2.clock;
    expect(clock, JSON.stringify(s2.counters?.time)).toMatchObject({ reference: 'bootstrapper', synced: true });
    expect(Math.abs(clock?.offsetMs ?? Number.NaN)).toBeLessThan(1);
    expect(clock?.errorMs ?? Number.NaN).toBeLessThan(1);
    // Within its own bound, as all the clocks here are one.
    expect(Math.abs(clock?.offsetMs ?? Number.NaN)).toBeLessThanOrEqual(clock?.errorMs ?? Number.NaN);
    expect(s2.counters?.time).toMatchObject({ unknown: 0, stale: 0, absurd: 0 });
    expect(s2.counters?.time?.accepted ?? 0).toBeGreaterThanOrEqual(SYNC_BURST_SAMPLES);
    process.stdout.write(`s2 clock: ${JSON.stringify(clock)}\n`);

    const s1 = await run.status('s1');
    expect(s1.clock).toEqual({ reference: 'self', synced: true, offsetMs: 0, errorMs: 0, samples: 0 });
    expect(s1.counters?.bootstrapper).toMatchObject({ timeLimited: 0, reportsLimited: 0 });
    expect(s1.counters?.bootstrapper?.timeAnswered ?? 0).toBeGreaterThanOrEqual(SYNC_BURST_SAMPLES);
    // Relays and POPs do not sync.
    expect((await run.status('n1')).clock).toBeUndefined();
  });

  it('onode status shows it on one line', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [ONODE, 'status', `${run.address('s2')}:${PORTS.status}`], (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      );
    });
    expect(text).toMatch(
      /^clock: the bootstrapper's = this host's [+-] \d+\.\d{3} ms, ±\d+\.\d{3} ms \(\d+ samples\)$/m,
    );
  });
});

/**
 * The daemons' memory diet (issue 13) keeps every role working: topologies/chain.json5 (server,
 * two relays, a POP) as real processes, started the way every runner starts them, with the
 * daemons' Node.js options (onode/net/daemon-flags.ts) and each role loading only its own code.
 * The relays' private memory stays small after convergence and while a client plays through them,
 * and the client gets its frames. Starts processes: run under the e2e lock.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS } from '../../onode/net/daemon-flags.ts';
import { ROOT, suiteRun } from './loopback-harness.ts';

const PORTS = { bootstrap: 17960, overlay: 14960, status: 17965, rtsp: 18960 };
/**
 * A relay's anonymous resident memory (RssAnon: heap, stacks; not the node binary's code, which
 * every process shares and which makes VmRSS some 42 MB more on Node 20). Here, just after
 * convergence: 16 MB since each role loads only its own code, 19.8 MB before (every daemon loaded
 * the CLI tools, the topology loader, the RTSP server, the dashboard); after a minute, 15-17 MB and
 * 24-26 MB (`npm run bench:scale:real`).
 */
const RELAY_ANON_MAX_KB = 18.5 * 1024;

function procStatus(pid: number): { rssKb: number; anonKb: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]);
  return { rssKb: kb('VmRSS'), anonKb: kb('RssAnon') };
}

describe('daemon memory: chain.json5 with the daemons’ Node.js options', () => {
  const run = suiteRun(join(ROOT, 'topologies/chain.json5'), PORTS, { frames: 40 });
  const pidOf = (name: string): number => {
    const pid = run.emulator.pids().get(name);
    if (pid === undefined) throw new Error(`${name} has no process`);
    return pid;
  };

  it('starts every daemon with the options', () => {
    for (const name of run.topology.nodes.keys()) {
      const argv = readFileSync(`/proc/${pidOf(name)}/cmdline`, 'utf8').split('\0');
      for (const flag of DAEMON_NODE_FLAGS) expect(argv, name).toContain(flag);
    }
  });

  it('keeps relays small, idle and relaying, and the client gets frames', async () => {
    const relays = run.names('node');
    expect(relays).toEqual(['n1', 'n2']);
    for (const n of relays) expect(procStatus(pidOf(n)).anonKb, `${n} idle`).toBeLessThan(RELAY_ANON_MAX_KB);
    const { done } = run.startClient([
      '--address',
      '127.2.100.20',
      '--pop',
      run.topology.nodes.get('p1')?.clientAddresses[0] ?? '',
      '--movie',
      'bars.mjpeg',
      '--headless',
      '--duration',
      '4',
    ]);
    // Halfway through the play, both relays carry the stream.
    await new Promise((r) => setTimeout(r, 3000));
    for (const n of relays) {
      const streams = (await run.status(n)).streams ?? [];
      expect(
        streams.map((s) => s.movie),
        n,
      ).toContain('bars.mjpeg');
      expect(procStatus(pidOf(n)).anonKb, `${n} relaying`).toBeLessThan(RELAY_ANON_MAX_KB);
    }
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    const stats = JSON.parse(result.stdout) as { framesReceived: number; framesRejected: number };
    expect(stats.framesReceived).toBeGreaterThan(25);
    expect(stats.framesRejected).toBe(0);
  }, 30_000);
});

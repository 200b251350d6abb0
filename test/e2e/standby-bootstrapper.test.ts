/**
 * Two bootstrappers (issue 12, item 4) with real processes on loopback: the mesh topology with
 * `bootstrapper: ['s2', 's1']` (s2 first; p3's stream comes from s2, its nearest server, so the first
 * bootstrapper is also the viewer's server). kill -9 s2 mid-stream: the viewer's frames go on (the
 * tree moves to s1), s2's neighbours see it gone as any node's, logins are answered by s1 (the time
 * from the kill is printed), a node started after the death registers through s1 and gets its
 * neighbours, and a new client logs in and plays from it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeSampleMovies } from '../../common/samples/sample-movies.ts';
import { login, loginFirst } from '../../oclient/net/login.ts';
import { decodedFrames, LoopbackRun, matchConsecutive, ROOT, untilNearer } from './loopback-harness.ts';
import { StallMeter } from './stall-meter.ts';

const movies = mkdtempSync(join(tmpdir(), 'onode-movies-'));
const topology = join(movies, 'mesh-two-bootstrappers.json5');
beforeAll(() => {
  makeSampleMovies(movies, { frames: 40 });
  const mesh = readFileSync(join(ROOT, 'topologies/mesh.json5'), 'utf8');
  const two = mesh.replace(/lossPct: \d+/g, 'lossPct: 0').replace("bootstrapper: 's1'", "bootstrapper: ['s2', 's1']");
  if (two === mesh) throw new Error('mesh.json5 changed: no bootstrapper to replace');
  writeFileSync(topology, two);
});
afterAll(() => rmSync(movies, { recursive: true, force: true }));

interface Stats {
  framesReceived: number;
  longestGapMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 20 ms until it returns a value other than null, or `timeoutMs` passes (then null). */
async function until<T>(check: () => Promise<T | null>, timeoutMs: number): Promise<T | null> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => null);
    if (v !== null || performance.now() > deadline) return v;
    await sleep(20);
  }
}

describe('a standby bootstrapper on loopback (mesh, bootstrappers s2 then s1)', () => {
  let run: LoopbackRun | null = null;
  let meter: StallMeter | null = null;
  afterEach(async () => {
    meter?.stop();
    meter = null;
    await run?.stop();
    run = null;
  });

  it('kill -9 of the first bootstrapper: streams go on, logins and registrations go through the second', async () => {
    const r = new LoopbackRun(topology, movies, { bootstrap: 17830, overlay: 14830, status: 17850, rtsp: 18830 });
    run = r;
    expect(r.topology.bootstrappers).toEqual(['s2', 's1']);
    r.start();
    await r.converged();
    // Both directories hold every node: each bootstrapper registered with the other, as any node.
    for (const b of ['s1', 's2']) {
      const all = await until(async () => {
        const reg = (await r.status(b)).registered ?? [];
        return reg.length === r.topology.nodes.size ? reg : null;
      }, 10_000);
      expect(all?.length, `${b} registered`).toBe(r.topology.nodes.size);
    }

    // A viewer at p3 for 8 s (p3 r4 s2 is its shortest path by far, once p3 has measured its links);
    // s2, the first bootstrapper and the stream's server, dies once the stream flows.
    await untilNearer(r, 'p3', 's2', 's1', 2);
    meter = new StallMeter();
    const out = join(r.dir, 'p3.mjpeg');
    const viewer = r.client([
      '--address',
      '127.1.103.20',
      '--pop',
      r.topology.nodes.get('p3')?.clientAddresses[0] ?? '',
      '--movie',
      'bars.mjpeg',
      '--headless',
      '--duration',
      '8',
      '--jitter-buffer',
      '2000',
      // The overlay must move this stream (p3 to s1): the client must not leave p3 on a busy host's stall.
      '--stall-timeout',
      '4000',
      '--output',
      out,
    ]);
    const rootBefore = await until(async () => {
      const stream = ((await r.status('p3')).streams ?? []).find((x) => x.state === 'active');
      return stream?.rootPath[0] ?? null;
    }, 10_000);
    await sleep(1000);
    const killedAt = performance.now();
    expect(rootBefore).toBe('s2');
    expect(r.emulator.kill('s2')).toBe(true);

    // Logins: a client with both bootstrappers is answered by s1.
    const targets = ['s2', 's1'].map((b) => ({ host: r.address(b), port: r.ports.bootstrap }));
    const tries: string[] = [];
    const attempt = (t: { host: string; port: number }, timeoutMs: number, totalMs?: number) => {
      const t0 = performance.now();
      const at = `${t.host} at ${(t0 - killedAt).toFixed(0)} ms`;
      return login(t.host, t.port, '127.1.102.20', timeoutMs, totalMs).then(
        (w) => {
          tries.push(`${at}: welcome in ${(performance.now() - t0).toFixed(0)} ms`);
          return w;
        },
        (e: unknown) => {
          tries.push(`${at}: ${(e as Error).message} in ${(performance.now() - t0).toFixed(0)} ms`);
          throw e;
        },
      );
    };
    // s2's neighbours see it gone as any node's (s1 tells them), watched at the same time.
    let deadMs = Number.NaN;
    const seenDead = until(async () => {
      const n = ((await r.status('r3')).neighbours ?? []).find((x) => x.name === 's2');
      if (n?.alive !== false) return null;
      deadMs = performance.now() - killedAt;
      return true;
    }, 5000);
    const welcome = await until(() => loginFirst(targets, '127.1.102.20', attempt), 5000);
    const loginMs = performance.now() - killedAt;
    process.stdout.write(`${tries.join('\n')}\n`);
    expect(welcome?.from.host).toBe(r.address('s1'));
    expect(welcome?.catalogue.map((m) => m.name)).toContain('bars.mjpeg');
    expect(welcome?.serverKeys.map((k) => k.server).sort()).toEqual(['s1', 's2']);
    expect(await seenDead).toBe(true);
    const rootAfter = await until(async () => {
      const root = ((await r.status('p3')).streams ?? [])[0]?.rootPath[0];
      return root === 's1' ? root : null;
    }, 6000);
    // Not asserted: with s2 dead only s1 can feed the viewer, whose frames (below) must go on, consecutive.
    process.stdout.write(
      `standby bootstrapper: login answered ${loginMs.toFixed(0)} ms after kill -9 of s2 (through s1); ` +
        `r3 saw s2 dead ${deadMs.toFixed(0)} ms after (status polled every 20 ms); ` +
        `p3's stream from ${rootAfter ?? 'not yet s1 (6 s)'}\n`,
    );

    // A node started after the death registers through s1 and gets its neighbours.
    await r.emulator.restart('p2');
    const restartedPid = r.emulator.pids().get('p2');
    const p2 = await until(async () => {
      const s = await r.status('p2');
      const alive = (s.neighbours ?? []).filter((n) => n.alive).map((n) => n.name);
      const ready = alive.length === 2 && (s.routes ?? []).length > 0 && (s.catalogue ?? []).length > 0;
      return s.pid === restartedPid && ready ? s : null;
    }, 15_000);
    expect(p2?.neighbours?.map((n) => n.name).sort()).toEqual(['r5', 'r6']);
    expect(
      r.lines.some(
        (l) => l.startsWith('[s1]') && l.includes(`p2 registered from`) && l.includes(`(pid ${restartedPid})`),
      ),
    ).toBe(true);

    // Telemetry now goes to s1, the first bootstrapper up: its dashboard hears from every live node.
    const silent = await until(async () => {
      const res = await fetch(`http://${r.address('s1')}:${r.ports.status}/overlay`);
      const overlay = (await res.json()) as { nodes: { name: string; reportAgoMs: number | null }[] };
      const sinceKill = performance.now() - killedAt;
      const quiet = overlay.nodes.filter(
        (n) => n.name !== 's2' && !(n.reportAgoMs !== null && n.reportAgoMs < sinceKill),
      );
      return quiet.length === 0 ? quiet : null;
    }, 10_000);
    expect(silent, "nodes that have not reported to s1's dashboard since the kill").toEqual([]);

    // The first viewer's stream went on.
    const c = await viewer;
    expect(c.code, c.stderr).toBe(0);
    const stats = JSON.parse(c.stdout) as Stats;
    expect(stats.framesReceived).toBeGreaterThan(8 * 25 * 0.7);
    expect(stats.longestGapMs, `worst stall ${meter.worstLateMs} ms`).toBeLessThan(meter.bound(1500));
    // s1's channel plays s2's timeline (s1 synchronised its clock to s2's): no frame skipped or twice.
    const frames = decodedFrames(out);
    expect(matchConsecutive(frames, decodedFrames(join(movies, 'bars.mjpeg')))).toBe(stats.framesReceived);

    // A new client (given both bootstrappers; s2 first and dead) logs in and plays from the new p2.
    const late = await r.client([
      '--address',
      '127.1.102.20',
      '--pop',
      r.topology.nodes.get('p2')?.clientAddresses[0] ?? '',
      '--movie',
      'bars.mjpeg',
      '--headless',
      '--duration',
      '3',
    ]);
    expect(late.code, late.stderr).toBe(0);
    // It plays: how fast a freshly restarted POP joins the tree on a loaded machine is not the point here.
    expect((JSON.parse(late.stdout) as Stats).framesReceived).toBeGreaterThan(10);
  }, 90_000);
});

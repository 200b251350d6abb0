/**
 * `onode record` on the report topology: while a viewer plays and a relay on its tree is killed,
 * it keeps the bootstrapper's timeline and every viewer's statistics, and writes the JSON, CSV
 * and SVG files a report includes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ONODE, ROOT, suiteRun } from './loopback-harness.ts';

const PORTS = { bootstrap: 17710, overlay: 14710, status: 17790, rtsp: 18710 };

describe('onode record', () => {
  const run = suiteRun(join(ROOT, 'topologies/report.json5'), PORTS);
  const out = mkdtempSync(join(tmpdir(), 'onode-record-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes the timeline, the viewers over time and the plots', async () => {
    const pop = run.topology.nodes.get('o5')?.clientAddresses[0] ?? '';
    const client = run.startClient(
      ['--address', '127.0.6.20', '--pop', pop, '--movie', 'bars.mjpeg'].concat(['--headless', '--duration', '14']),
    );
    const recorded = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [ONODE, 'record', '--bootstrapper', `${run.address('s1')}:${PORTS.status}`, '--out', out, '--duration', '10'],
        { timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    // Mid-recording, the relay feeding o5 dies.
    await new Promise((r) => setTimeout(r, 4000));
    const upstream = (await run.status('o5')).streams?.find((s) => s.movie === 'bars.mjpeg')?.upstream;
    expect(upstream).toBeTruthy();
    run.emulator.kill(upstream ?? '');
    const r = await recorded;
    await client.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/recorded \d+ viewers/);

    const events = readFileSync(join(out, 'events.csv'), 'utf8').trimEnd().split('\r\n');
    expect(events[0]).toBe('seconds,at,node,kind,detail');
    expect(events.some((l) => l.split(',')[3] === 'registered')).toBe(true);
    expect(events.some((l) => l.split(',')[3] === 'link-down' && l.includes(upstream ?? '?'))).toBe(true);

    const rows = readFileSync(join(out, 'viewers.csv'), 'utf8').trimEnd().split('\r\n');
    const header = rows[0]?.split(',') ?? [];
    const ours = rows
      .slice(1)
      .map((l) => l.split(','))
      .filter((f) => f[header.indexOf('pop')] === 'o5');
    expect(ours.length).toBeGreaterThan(5);
    const fps = ours.map((f) => Number(f[header.indexOf('fps')])).filter((x) => x > 0);
    expect(Math.max(...fps)).toBeGreaterThan(20);

    for (const f of ['fps.svg', 'bitrate.svg', 'startup.svg', 'tree.svg']) {
      const text = readFileSync(join(out, f), 'utf8');
      expect(statSync(join(out, f)).size, f).toBeGreaterThan(500);
      expect(text.startsWith('<svg'), f).toBe(true);
    }
    expect(readFileSync(join(out, 'fps.svg'), 'utf8')).toContain('<path ');
    expect(readFileSync(join(out, 'tree.svg'), 'utf8')).toContain('bars.mjpeg from');
  }, 60_000);
});

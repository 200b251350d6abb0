/**
 * The scrape config the runs write: one target per node with its name, role and status address,
 * accepted by `promtool check config`; and `onode core --prometheus FILE` writing it beside the
 * scenario (no CORE needed: without --run it only writes). No sockets.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTopologyFile, loopbackTopology } from '../../../onode/config/topology.ts';
import { prometheusConfig, scrapeTargets } from '../../../onode/emulators/prometheus-config.ts';
import { requireCommands } from '../../capabilities.ts';

const REPORT = fileURLToPath(new URL('../../../topologies/report.json5', import.meta.url));
const ONODE = fileURLToPath(new URL('../../../onode/cli/main.ts', import.meta.url));

let dir = '';
afterEach(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  dir = '';
});

function promtoolCheckConfig(text: string): { status: number | null; out: string } {
  requireCommands('promtool');
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, text);
  const r = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('prometheusConfig', () => {
  it('lists every node of the report topology once, at its status address, with node and role', () => {
    const topo = loopbackTopology(loadTopologyFile(REPORT));
    const targets = scrapeTargets(topo, 17080);
    expect(targets.map((t) => t.node).sort()).toEqual(['o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9', 's1', 's2']);
    const o5 = targets.find((t) => t.node === 'o5');
    expect(o5).toEqual({
      node: 'o5',
      role: 'pop',
      address: topo.nodes.get('o5')?.addresses[0],
      port: 17080,
      bootstrapper: false,
    });
    expect(targets.filter((t) => t.bootstrapper).map((t) => t.node)).toEqual([topo.bootstrapper]);
    const text = prometheusConfig(targets, { comment: 'a test run' });
    expect(text).toContain(
      `- targets: ["${o5?.address}:17080"]\n        labels:\n          node: "o5"\n          role: "pop"\n`,
    );
    expect(text.startsWith('# a test run\n')).toBe(true);
  });

  it('promtool check config accepts it, names with odd characters included', () => {
    dir = mkdtempSync(join(tmpdir(), 'prom-config-'));
    const topo = loadTopologyFile(REPORT);
    const ok = promtoolCheckConfig(prometheusConfig(scrapeTargets(topo, 7080), { intervalSec: 2 }));
    expect(ok, ok.out).toMatchObject({ status: 0 });
    // Names are checked by the topology loader; the config quotes whatever it is given anyway.
    const odd = [{ node: 'a "b"\\c: #d', role: 'pop', address: '127.0.0.1', port: 1, bootstrapper: true }];
    const checked = promtoolCheckConfig(prometheusConfig(odd));
    expect(checked, checked.out).toMatchObject({ status: 0 });
  });
});

describe('onode core --prometheus FILE', () => {
  it('writes the scrape config for the scenario and says where', () => {
    dir = mkdtempSync(join(tmpdir(), 'prom-core-'));
    mkdirSync(join(dir, 'movies'));
    writeFileSync(join(dir, 'movies', 'a.mjpeg'), '');
    const file = join(dir, 'prometheus.yml');
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        ONODE,
        'core',
        REPORT,
        '--movies',
        join(dir, 'movies'),
        '--log-dir',
        dir,
        '--prometheus',
        file,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`wrote a Prometheus scrape config for 10 nodes to ${file}`);
    expect(r.stdout).toContain('<scenario');
    const topo = loadTopologyFile(REPORT);
    expect(readFileSync(file, 'utf8')).toBe(
      prometheusConfig(scrapeTargets(topo, 7080), { comment: readFileSync(file, 'utf8').split('\n')[0]?.slice(2) }),
    );
  });
});

describe('--prometheus FILE', () => {
  it('is an option of onode emulate, mininet and core', () => {
    for (const command of ['emulate', 'mininet', 'core']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', ONODE, command, '--help'], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.stdout, command).toContain('--prometheus <file>');
    }
  });
});

/** `onode topology import` and `generate` on the command line: files that load, errors that say why. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTopologyFile, parseTopology } from '../../../onode/config/topology.ts';
import { zooFiles } from './zoo-archive.ts';

const ONODE = fileURLToPath(new URL('../../../onode/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'onode-topology-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const zoo = zooFiles();
for (const name of ['Abilene.graphml', 'Arpanet196912.graphml'])
  writeFileSync(join(dir, name), zoo.get(name) as string);

const onode = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', ONODE, 'topology', ...args], { encoding: 'utf8', timeout: 60_000 });

describe('onode topology', () => {
  it('imports a Zoo network to --out, with a summary on stderr', () => {
    const out = join(dir, 'abilene.json5');
    const r = onode('import', join(dir, 'Abilene.graphml'), '--servers', '2', '--pops', '3', '--out', out);
    expect(r.stderr).toContain('Abilene.graphml: 11 places (2 servers, 6 relays, 3 POPs), 14 links');
    expect(r.status).toBe(0);
    const topo = loadTopologyFile(out);
    expect(topo.nodes.size).toBe(11);
    expect(readFileSync(out, 'utf8')).toContain('Internet Topology Zoo (CC BY 4.0)');
  });

  it('generates a synthetic network on standard output', () => {
    const r = onode('generate', '--nodes', '60', '--model', 'barabasi-albert', '--servers', '2', '--pops', '6');
    expect(r.status).toBe(0);
    const topo = parseTopology(r.stdout, 'stdout');
    expect([...topo.nodes.values()].filter((n) => n.role === 'pop')).toHaveLength(6);
    expect(topo.clients.size).toBe(6);
  });

  it('refuses what it cannot do, saying why, with exit status 2', () => {
    const small = onode('import', join(dir, 'Arpanet196912.graphml'), '--servers', '2', '--pops', '3');
    expect(small.status).toBe(2);
    expect(small.stderr).toContain('it has 4 places; --servers 2 --pops 3 needs at least 5');
    const missing = onode('import', join(dir, 'nowhere.graphml'), '--servers', '1', '--pops', '1');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('nowhere.graphml');
    const model = onode('generate', '--nodes', '10', '--model', 'erdos', '--servers', '1', '--pops', '1');
    expect(model.status).not.toBe(0);
    expect(model.stderr).toContain('waxman, barabasi-albert');
    const help = onode('import', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--servers <n>');
  });
});

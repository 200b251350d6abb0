import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { emulatedHosts, loadTopologyFile, parseTopology, type Topology } from '../../../onode/config/topology.ts';
import { coreImn, CoreExportError } from '../../../onode/emulators/core-imn.ts';
import { shellQuote, startupScript, type CoreOptions } from '../../../onode/emulators/core-startup.ts';
import { CORE_TYPES, coreScenarioXml } from '../../../onode/emulators/core-xml.ts';
import { child, parseXml, type XmlElement } from './xml-tree.ts';

const REPORT = fileURLToPath(new URL('../../../topologies/report.json5', import.meta.url));
const OPTS: CoreOptions = {
  root: '/opt/overlay cdn',
  file: '/opt/overlay cdn/topologies/report.json5',
  moviesDir: '/opt/overlay cdn/movies',
  movies: ['bars.mjpeg', 'bounce.mjpeg'],
  secretFile: '/tmp/onode-logs/overlay.secret',
};

function report(): Topology {
  return loadTopologyFile(REPORT);
}

/** The start-up file of a device, from the scenario's service configurations. */
function startupOf(scenario: XmlElement, deviceId: string): string {
  const service = child(scenario, 'service_configurations').children.find((s) => s.attributes.node === deviceId);
  if (service === undefined) throw new Error(`no service configuration for device ${deviceId}`);
  return child(child(service, 'files'), 'file').text;
}

describe('CORE XML scenario', () => {
  const topo = report();
  const scenario = parseXml(coreScenarioXml(topo, OPTS));

  // The layout of coreemu/core's package/share/tutorials/*/scenario.xml: networks, devices,
  // links, then configurations; positions on devices; iface1/iface2 with ip4 and ip4_mask.
  it("has the sections of CORE's own scenarios, in their order", () => {
    expect(scenario.name).toBe('scenario');
    expect(scenario.children.map((c) => c.name)).toEqual([
      'networks',
      'devices',
      'links',
      'service_configurations',
      'session_origin',
      'default_services',
    ]);
  });

  it('has one device per node, router and client, typed for CORE, with only the start-up service', () => {
    const devices = child(scenario, 'devices').children;
    expect(devices.map((d) => d.attributes.name)).toEqual([...topo.nodes.keys(), 'r1', 'r2', ...topo.clients.keys()]);
    for (const d of devices) {
      expect(d.name).toBe('device');
      expect(Object.keys(d.attributes).sort()).toEqual(['canvas', 'class', 'icon', 'id', 'image', 'name', 'type']);
      expect(Object.keys(child(d, 'position').attributes).sort()).toEqual(['x', 'y']);
      expect(child(d, 'services').children.map((s) => s.attributes.name)).toEqual(['UserDefined']);
    }
    const type = (name: string): string | undefined => devices.find((d) => d.attributes.name === name)?.attributes.type;
    expect([type('s1'), type('o3'), type('o5'), type('r1'), type('c1')]).toEqual([
      CORE_TYPES.server,
      'router',
      'router',
      'router',
      'PC',
    ]);
    const ids = devices.map((d) => d.attributes.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('turns the LAN of o5, c1 and c5 into a switch', () => {
    const networks = child(scenario, 'networks').children;
    expect(networks).toHaveLength(1);
    expect(networks[0]?.attributes.type).toBe('SWITCH');
  });

  it("has every network link with the file's addresses and parameters in CORE's units", () => {
    const links = child(scenario, 'links').children;
    const devices = new Map(child(scenario, 'devices').children.map((d) => [d.attributes.id, d.attributes.name]));
    // 21 point-to-point links and one three-member LAN: three links to its switch.
    expect(links).toHaveLength(21 + 3);
    const find = (a: string, b: string): XmlElement | undefined =>
      links.find((l) => devices.get(l.attributes.node1) === a && devices.get(l.attributes.node2) === b);
    const s1o9 = find('s1', 'o9');
    expect(s1o9).toBeDefined();
    if (s1o9 === undefined) return;
    expect(child(s1o9, 'iface1').attributes).toEqual({ id: '1', name: 'eth1', ip4: '10.0.24.10', ip4_mask: '24' });
    expect(child(s1o9, 'iface2').attributes).toEqual({ id: '3', name: 'eth3', ip4: '10.0.24.1', ip4_mask: '24' });
    expect(child(s1o9, 'options').attributes).toMatchObject({ delay: '8000', bandwidth: '0', loss: '0' });
    const o6c2 = find('o6', 'c2');
    expect(o6c2 && child(o6c2, 'options').attributes).toMatchObject({ delay: '1000', bandwidth: '20000000' });
    // o3 and o7 share no link: they meet through r1.
    expect(find('o3', 'o7') ?? find('o7', 'o3')).toBeUndefined();
    expect(find('o3', 'r1')).toBeDefined();
    // LAN members link to the switch with only their own interface, half the delay each way.
    const lan = links.filter((l) => !devices.has(l.attributes.node2));
    expect(lan.map((l) => devices.get(l.attributes.node1))).toEqual(['o5', 'c1', 'c5']);
    for (const l of lan) {
      expect(l.children.map((c) => c.name)).toEqual(['iface1', 'options']);
      expect(child(l, 'options').attributes.delay).toBe('500');
    }
  });

  it('gives every interface of a device the address and name its routes use', () => {
    const links = child(scenario, 'links').children;
    for (const host of emulatedHosts(topo)) {
      const id = child(scenario, 'devices').children.find((d) => d.attributes.name === host.name)?.attributes.id;
      const ifaces = links
        .flatMap((l) => [
          l.attributes.node1 === id ? l.children.find((c) => c.name === 'iface1') : undefined,
          l.attributes.node2 === id ? l.children.find((c) => c.name === 'iface2') : undefined,
        ])
        .filter((x) => x !== undefined);
      expect(ifaces.map((f) => `${f.attributes.name}=${f.attributes.ip4}`).sort()).toEqual(
        host.interfaces.map((f) => `${f.name}=${f.address}`).sort(),
      );
    }
  });

  it('starts each role with the run script, in the background, after its routes', () => {
    const devices = child(scenario, 'devices').children;
    const id = (name: string): string => devices.find((d) => d.attributes.name === name)?.attributes.id ?? '';
    const service = child(scenario, 'service_configurations').children[0];
    expect(service && child(child(service, 'startups'), 'startup').text).toBe('sh onode-start.sh');
    const s1 = startupOf(scenario, id('s1'));
    expect(s1).toContain(
      "'/opt/overlay cdn/scripts/run.sh' server --topology '/opt/overlay cdn/topologies/report.json5'",
    );
    expect(s1.trimEnd().split('\n').at(-1)).toMatch(/--background$/);
    expect(s1.indexOf('ip route add')).toBeLessThan(s1.indexOf('run.sh'));
    expect(startupOf(scenario, id('o5'))).toContain(
      "run.sh' pop --bootstrapper 10.0.25.10 --secret /tmp/onode-logs/overlay.secret " +
        '--log-dir /tmp/onode-logs --name o5 --background',
    );
    expect(startupOf(scenario, id('s2'))).toContain(
      "run.sh' server --bootstrapper 10.0.25.10 --movies '/opt/overlay cdn/movies' " +
        '--secret /tmp/onode-logs/overlay.secret',
    );
    expect(s1).toContain('--secret /tmp/onode-logs/overlay.secret');
    expect(startupOf(scenario, id('r1'))).not.toContain('run.sh');
    const c4 = startupOf(scenario, id('c4'));
    expect(c4).toContain('sleep 15; exec');
    expect(c4).toContain('--pop 10.0.9.2');
    expect(c4).toMatch(/&\n$/);
    // Clients hold no overlay secret.
    expect(c4).not.toContain('--secret');
  });

  it('writes start-up scripts sh accepts', () => {
    for (const d of child(scenario, 'devices').children) {
      const check = spawnSync('sh', ['-n'], { input: startupOf(scenario, d.attributes.id ?? ''), encoding: 'utf8' });
      expect(check.status, `${d.attributes.name}: ${check.stderr}`).toBe(0);
    }
  });

  it('asks the bootstrapper to emulate links only when told to', () => {
    const withFlag = parseXml(coreScenarioXml(topo, { ...OPTS, emulateLinks: true }));
    expect(startupOf(withFlag, '1')).toContain('--emulate-links');
    expect(startupOf(scenario, '1')).not.toContain('--emulate-links');
  });

  it('derives the network of a file without one', () => {
    const chain = parseXml(
      coreScenarioXml(
        loadTopologyFile(fileURLToPath(new URL('../../../topologies/chain.json5', import.meta.url))),
        OPTS,
      ),
    );
    expect(child(chain, 'links').children).toHaveLength(4);
    expect(child(chain, 'networks').children).toHaveLength(0);
  });
});

describe('CORE .imn scenario', () => {
  const topo = report();
  const imn = coreImn(topo, OPTS);

  it('balances its braces', () => {
    let depth = 0;
    let lowest = 0;
    for (const ch of imn) {
      if (ch === '{') depth++;
      if (ch === '}') depth--;
      lowest = Math.min(lowest, depth);
    }
    expect([depth, lowest]).toEqual([0, 0]);
  });

  it("has the nodes, a lanswitch and the links with the GUI's keys and units", () => {
    expect(imn.match(/^node n\d+ \{$/gm)).toHaveLength(17 + 1);
    expect(imn).toMatch(/^ {4}type lanswitch$/m);
    expect(imn.match(/^link l\d+ \{$/gm)).toHaveLength(24);
    expect(imn).toContain('link l2 {\n    nodes {n1 n7}\n    delay 8000\n}');
    expect(imn).toContain('\thostname o3\n\t!\n\tinterface eth0\n\t ip address 10.0.26.2/24\n');
    expect(imn).toContain('    bandwidth 20000000\n    delay 1000\n');
    expect(imn).toContain("\tcmdup=('sh onode-start.sh', )");
    expect(imn).toMatch(/^canvas c1 \{$/m);
  });

  it('writes loss as ber, in percent', () => {
    const lossy = parseTopology(
      `{
      nodes: { s1: { role: 'server', addresses: ['10.3.1.1'] }, ` +
        `p1: { role: 'pop', addresses: ['10.3.1.2', '10.3.2.1'], clientAddresses: ['10.3.2.1'] } },
      links: [ { between: ['s1', 'p1'] } ],
      network: { links: [ { between: ['s1', 'p1'], delayMs: 2.5, lossPct: 1.5, rateKbps: 8000 } ] },
    }`,
      'lossy.json5',
    );
    expect(coreImn(lossy, OPTS)).toContain(
      'link l1 {\n    nodes {n1 n2}\n    bandwidth 8000000\n    delay 2500\n    ber 1.5\n}',
    );
  });

  it('refuses a path it cannot hold', () => {
    expect(() => coreImn(topo, { ...OPTS, root: '/opt/{cdn}' })).toThrow(CoreExportError);
  });
});

describe('start-up scripts', () => {
  it('quote what the shell would split', () => {
    expect(shellQuote('/opt/cdn/run.sh')).toBe('/opt/cdn/run.sh');
    expect(shellQuote("/it's here")).toBe(`'/it'\\''s here'`);
    const echoed = spawnSync('sh', ['-c', `printf %s ${shellQuote("a b'c$d")}`], { encoding: 'utf8' }).stdout;
    expect(echoed).toBe("a b'c$d");
  });

  it('do not start clients when there are no movies', () => {
    const topo = report();
    const c1 = emulatedHosts(topo).find((h) => h.name === 'c1');
    if (c1 === undefined) throw new Error('no c1');
    expect(startupScript(topo, c1, 0, { ...OPTS, movies: [] })).not.toContain('run.sh');
    expect(startupScript(topo, c1, 1, OPTS)).toContain('--movie bounce.mjpeg');
  });
});

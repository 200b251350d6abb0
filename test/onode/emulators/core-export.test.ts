import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { emulatedHosts, loadTopologyFile, parseTopology, type Topology } from '../../../onode/config/topology.ts';
import { shellQuote, startupScript, STARTUP_FILE, type CoreOptions } from '../../../onode/emulators/core-startup.ts';
import { CORE_TYPES, CoreExportError, coreScenarioXml, makoVerbatim } from '../../../onode/emulators/core-xml.ts';
import { child, parseXml, type XmlElement } from './xml-tree.ts';

/**
 * The services of stock CORE 9.2.1 that a scenario may name without configuring CORE
 * (daemon/core/services/defaults/utilservices): 9.1 removed UserDefined and the other legacy ones.
 */
const STOCK_CORE_SERVICES = ['DefaultRoute', 'DefaultMulticastRoute', 'StaticRoute', 'IPForward', 'SSH'];

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

/** The start-up script of a device: its StaticRoute template, out of the Mako <%text> block. */
function startupOf(scenario: XmlElement, deviceId: string): string {
  const service = child(scenario, 'service_configurations').children.find((s) => s.attributes.node === deviceId);
  if (service === undefined) throw new Error(`no service configuration for device ${deviceId}`);
  const template = child(child(service, 'templates'), 'template');
  expect(template.attributes.name).toBe(STARTUP_FILE);
  const m = /^<%text>([\s\S]*)<\/%text>$/.exec(template.text);
  if (m === null) throw new Error(`the template of device ${deviceId} is not one <%text> block`);
  return m[1] ?? '';
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
    ]);
  });

  it('has one device per node, router and client, typed for CORE, with only the stock StaticRoute service', () => {
    const devices = child(scenario, 'devices').children;
    expect(devices.map((d) => d.attributes.name)).toEqual([...topo.nodes.keys(), 'r1', 'r2', ...topo.clients.keys()]);
    for (const d of devices) {
      expect(d.name).toBe('device');
      expect(Object.keys(d.attributes).sort()).toEqual(['canvas', 'class', 'icon', 'id', 'image', 'name', 'type']);
      expect(Object.keys(child(d, 'position').attributes).sort()).toEqual(['x', 'y']);
      expect(child(d, 'services').children.map((s) => s.attributes.name)).toEqual(['StaticRoute']);
      expect(STOCK_CORE_SERVICES).toContain('StaticRoute');
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
    // CORE 9.1+ reads <templates> and ignores the old <startups>/<files>.
    expect(service?.children.map((c) => c.name)).toEqual(['templates']);
    const s1 = startupOf(scenario, id('s1'));
    expect(s1).toContain(
      "'/opt/overlay cdn/scripts/run.sh' server --topology '/opt/overlay cdn/topologies/report.json5'",
    );
    expect(s1.trimEnd().split('\n').at(-1)).toMatch(/--background$/);
    expect(s1).toContain('exec 2>>/tmp/onode-logs/s1.log');
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
    expect(startupOf(scenario, id('r1')).trimEnd().split('\n').at(-1)).toBe('exit 0');
    const c4 = startupOf(scenario, id('c4'));
    expect(c4).toContain('sleep 15; exec');
    expect(c4).toContain('--pop 10.0.9.2');
    expect(c4).toMatch(/&\nexit 0\n$/);
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

  it('carries no link option CORE would hand to netem when the nodes emulate the links', () => {
    const emulated = parseXml(coreScenarioXml(topo, { ...OPTS, emulateLinks: true }));
    const links = child(emulated, 'links').children;
    expect(links).toHaveLength(24);
    for (const l of links) expect(l.children.map((c) => c.name)).not.toContain('options');
    // The rated links are limited by tbf from both ends instead: o6-c2 (20 Mbit/s) among them.
    const devices = child(emulated, 'devices').children;
    const id = (name: string): string => devices.find((d) => d.attributes.name === name)?.attributes.id ?? '';
    expect(startupOf(emulated, id('c2'))).toMatch(/^tc qdisc replace dev eth0 root tbf rate 20000kbit burst 25000 /m);
    expect(startupOf(emulated, id('o6'))).toContain('tbf rate 20000kbit');
    expect(startupOf(scenario, id('o6'))).not.toContain('tbf');
  });

  it('leaves out the options of a link that has nothing to apply', () => {
    const plain = parseTopology(
      `{
      nodes: { s1: { role: 'server', addresses: ['10.3.1.1'] }, ` +
        `p1: { role: 'pop', addresses: ['10.3.1.2'], clientAddresses: ['10.3.1.2'] } },
      links: [ { between: ['s1', 'p1'] } ],
      network: { links: [ { between: ['s1', 'p1'] } ] },
    }`,
      'plain.json5',
    );
    const link = child(parseXml(coreScenarioXml(plain, OPTS)), 'links').children[0];
    expect(link?.children.map((c) => c.name)).toEqual(['iface1', 'iface2']);
  });

  it('wraps every script in one Mako <%text> block, which passes it through as it is', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Mako syntax, on purpose
    expect(makoVerbatim('echo ${HOME}\n## two\n% one\n', 'h')).toBe('<%text>echo ${HOME}\n## two\n% one\n</%text>');
    expect(() => makoVerbatim('x</%text>y', 'h')).toThrow(CoreExportError);
    expect(() => coreScenarioXml(topo, { ...OPTS, root: '/opt/</%text>' })).toThrow(/check the paths/);
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

/**
 * The same scenario for CORE's older Tcl GUI (.imn, which many courses still use):
 *
 *   node nI { type router  model router|host|PC  network-config { hostname NAME ! interface ethN
 *             ip address A/24 ! }  canvas c1  iconcoords {X Y}  interface-peer {ethN nJ}
 *             services {UserDefined}  custom-config { ... files= cmdup= }  custom-config { script } }
 *   node nK { type lanswitch ... interface-peer {eN nI} }
 *   link lI { nodes {nA nB}  bandwidth BITS/S  delay MICROSECONDS  ber LOSS% }
 *
 * Link parameters use the GUI's keys (linkcfg.tcl): bandwidth in bit/s, delay in
 * microseconds, ber the loss in percent. Tcl reads the script between braces, so the
 * start-up scripts never contain a brace.
 */
import { emulatedHosts, type HostRole, type Topology } from '../config/topology.ts';
import { layout, startupScript, STARTUP_FILE, type CoreOptions } from './core-startup.ts';
import { lanMember, pointToPoint, type Impairment } from './link-impairment.ts';

const MODELS: Readonly<Record<HostRole, string>> = {
  server: 'host',
  node: 'router',
  pop: 'router',
  router: 'router',
  client: 'PC',
};

export class CoreExportError extends Error {
  override readonly name = 'CoreExportError';
}

export function coreImn(topo: Topology, opts: CoreOptions): string {
  const hosts = emulatedHosts(topo);
  const nodeId = new Map(hosts.map((h, i) => [h.name, `n${i + 1}`]));
  const positions = layout(hosts, topo);
  const out: string[] = [];
  // Which peer each interface faces, and the switches standing for LANs.
  const peers = new Map<string, Map<string, string>>(hosts.map((h) => [h.name, new Map()]));
  const switches: { id: string; name: string; ports: string[]; x: number; y: number }[] = [];
  const links: { a: string; b: string; impairment: Impairment }[] = [];
  topo.network.links.forEach((link, index) => {
    const intf = (host: string): string =>
      hosts.find((h) => h.name === host)?.interfaces.find((i) => i.link === index)?.name ?? '';
    if (link.ends.length === 2) {
      const [a, b] = link.ends;
      if (a === undefined || b === undefined) return;
      peers.get(a.host)?.set(intf(a.host), nodeId.get(b.host) ?? '');
      peers.get(b.host)?.set(intf(b.host), nodeId.get(a.host) ?? '');
      links.push({ a: nodeId.get(a.host) ?? '', b: nodeId.get(b.host) ?? '', impairment: pointToPoint(link) });
      return;
    }
    const id = `n${hosts.length + switches.length + 1}`;
    const members = link.ends.map((e) => positions.get(e.host) ?? { x: 500, y: 300 });
    switches.push({
      id,
      name: `lan${switches.length + 1}`,
      ports: link.ends.map((e) => nodeId.get(e.host) ?? ''),
      x: Math.round(members.reduce((s, p) => s + p.x, 0) / members.length),
      y: Math.max(...members.map((p) => p.y)) - 60,
    });
    for (const end of link.ends) {
      peers.get(end.host)?.set(intf(end.host), id);
      links.push({ a: nodeId.get(end.host) ?? '', b: id, impairment: lanMember(link) });
    }
  });

  let clientIndex = 0;
  for (const h of hosts) {
    const p = positions.get(h.name) ?? { x: 100, y: 100 };
    const script = startupScript(topo, h, h.role === 'client' ? clientIndex++ : 0, opts);
    if (/[{}]/.test(script))
      throw new CoreExportError(
        `the start-up script of ${h.name} has a brace, which the .imn format cannot hold (check the paths)`,
      );
    out.push(
      `node ${nodeId.get(h.name)} {`,
      '    type router',
      `    model ${MODELS[h.role]}`,
      '    network-config {',
      `\thostname ${h.name}`,
      '\t!',
    );
    for (const i of h.interfaces)
      out.push(`\tinterface ${i.name}`, `\t ip address ${i.address}/${i.prefixLength}`, '\t!');
    out.push(
      '    }',
      '    canvas c1',
      `    iconcoords {${p.x}.0 ${p.y}.0}`,
      `    labelcoords {${p.x}.0 ${p.y + 28}.0}`,
    );
    for (const i of h.interfaces) out.push(`    interface-peer {${i.name} ${peers.get(h.name)?.get(i.name) ?? ''}}`);
    out.push(
      '    services {UserDefined}',
      '    custom-config {',
      '\tcustom-config-id service:UserDefined',
      '\tcustom-command UserDefined',
      '\tconfig {',
      `\tfiles=('${STARTUP_FILE}', )`,
      `\tcmdup=('sh ${STARTUP_FILE}', )`,
      '\t}',
      '    }',
      '    custom-config {',
      `\tcustom-config-id service:UserDefined:${STARTUP_FILE}`,
      `\tcustom-command ${STARTUP_FILE}`,
      '\tconfig {',
      ...script.trimEnd().split('\n'),
      '\t}',
      '    }',
      '}',
      '',
    );
  }
  for (const sw of switches) {
    out.push(
      `node ${sw.id} {`,
      '    type lanswitch',
      '    network-config {',
      `\thostname ${sw.name}`,
      '\t!',
      '    }',
      '    canvas c1',
      `    iconcoords {${sw.x}.0 ${sw.y}.0}`,
      `    labelcoords {${sw.x}.0 ${sw.y + 28}.0}`,
      ...sw.ports.map((peer, i) => `    interface-peer {e${i} ${peer}}`),
      '}',
      '',
    );
  }
  links.forEach((l, i) => {
    const { delayMs, lossPct, rateKbps } = l.impairment;
    out.push(
      `link l${i + 1} {`,
      `    nodes {${l.a} ${l.b}}`,
      ...(rateKbps !== null ? [`    bandwidth ${Math.round(rateKbps * 1000)}`] : []),
      ...(delayMs > 0 ? [`    delay ${Math.round(delayMs * 1000)}`] : []),
      ...(lossPct > 0 ? [`    ber ${lossPct}`] : []),
      '}',
      '',
    );
  });
  out.push(
    'canvas c1 {',
    '    name {Canvas1}',
    '}',
    '',
    'option global {',
    '    interface_names no',
    '    ip_addresses yes',
    '    ipv6_addresses no',
    '    node_labels yes',
    '    link_labels yes',
    '    show_api no',
    '    background_images no',
    '    annotations yes',
    '    grid yes',
    '    traffic_start 0',
    '}',
    '',
    'option session {',
    '}',
    '',
  );
  return out.join('\n');
}

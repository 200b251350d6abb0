/**
 * A CORE scenario that stock CORE 9.2 loads and starts (the XML of coreemu/core's
 * package/share/tutorials/<name>/scenario.xml, read by core/xml/corexml.py):
 *
 *   <scenario name>
 *     <networks>  one SWITCH per LAN </networks>
 *     <devices>   one device per node, router and client, type router|host|PC, with the
 *                 StaticRoute service only (no OSPF: routes are static) </devices>
 *     <links>     <link node1 node2> <iface1 id name ip4 ip4_mask/> [<iface2 .../>]
 *                 [<options delay(us) bandwidth(bit/s) loss(%) .../>] </link> </links>
 *     <service_configurations> per device: StaticRoute with its staticroute.sh template replaced
 *                 by the host's start-up script </service_configurations>
 *     <session_origin/>
 *   </scenario>
 *
 * CORE applies link options with netem, and a kernel without netem aborts the whole start: with
 * emulateLinks the links carry none, and the nodes emulate them (see core-startup.ts).
 */
import { emulatedHosts, type EmulatedHost, type HostRole, type Topology } from '../config/topology.ts';
import { CORE_SERVICE, layout, startupScript, STARTUP_FILE, type CoreOptions } from './core-startup.ts';
import { lanMember, pointToPoint, type Impairment } from './link-impairment.ts';

/** CORE's node type for each host role (icons: router, server, PC). */
export const CORE_TYPES: Readonly<Record<HostRole, string>> = {
  server: 'host',
  node: 'router',
  pop: 'router',
  router: 'router',
  client: 'PC',
};

export function coreScenarioXml(topo: Topology, opts: CoreOptions): string {
  const hosts = emulatedHosts(topo);
  const id = new Map(hosts.map((h, i) => [h.name, i + 1]));
  const positions = layout(hosts, topo);
  const switches = topo.network.links
    .map((l, i) => ({ link: l, index: i }))
    .filter(({ link }) => link.ends.length > 2)
    .map(({ link, index }, k) => ({ link, index, id: hosts.length + k + 1, name: `lan${k + 1}` }));

  const out: string[] = ["<?xml version='1.0' encoding='UTF-8'?>", `<scenario name="${attr(scenarioName(topo))}">`];
  out.push('  <networks>');
  for (const sw of switches) {
    const members = sw.link.ends.map((e) => positions.get(e.host) ?? { x: 500, y: 300 });
    const x = Math.round(members.reduce((s, p) => s + p.x, 0) / members.length);
    const y = Math.max(...members.map((p) => p.y)) - 60;
    out.push(
      `    <network id="${sw.id}" name="${sw.name}" icon="" canvas="1" type="SWITCH">`,
      `      <position x="${x}" y="${y}"/>`,
      '    </network>',
    );
  }
  out.push('  </networks>', '  <devices>');
  for (const h of hosts) {
    const p = positions.get(h.name) ?? { x: 100, y: 100 };
    out.push(
      `    <device id="${id.get(h.name)}" name="${attr(h.name)}" icon="" canvas="1" ` +
        `type="${CORE_TYPES[h.role]}" class="" image="">`,
      `      <position x="${p.x}" y="${p.y}"/>`,
      '      <services>',
      `        <service name="${CORE_SERVICE}"/>`,
      '      </services>',
      '    </device>',
    );
  }
  out.push('  </devices>', '  <links>');
  topo.network.links.forEach((link, index) => {
    const sw = switches.find((s) => s.index === index);
    if (sw === undefined) {
      const [a, b] = link.ends;
      if (a === undefined || b === undefined) return;
      out.push(
        `    <link node1="${id.get(a.host)}" node2="${id.get(b.host)}">`,
        iface('iface1', hosts, a.host, index),
        iface('iface2', hosts, b.host, index),
        ...options(pointToPoint(link), opts),
        '    </link>',
      );
      return;
    }
    for (const end of link.ends) {
      out.push(
        `    <link node1="${id.get(end.host)}" node2="${sw.id}">`,
        iface('iface1', hosts, end.host, index),
        ...options(lanMember(link), opts),
        '    </link>',
      );
    }
  });
  out.push('  </links>', '  <service_configurations>');
  let clientIndex = 0;
  for (const h of hosts) {
    const script = startupScript(topo, h, h.role === 'client' ? clientIndex++ : 0, opts);
    out.push(
      `    <service name="${CORE_SERVICE}" node="${id.get(h.name)}">`,
      '      <templates>',
      `        <template name="${STARTUP_FILE}">${cdata(makoVerbatim(script, h.name))}</template>`,
      '      </templates>',
      '    </service>',
    );
  }
  out.push(
    '  </service_configurations>',
    '  <session_origin lat="47.579166412353516" lon="-122.13232421875" alt="2.0" scale="150.0"/>',
    '</scenario>',
  );
  return `${out.join('\n')}\n`;
}

function iface(element: string, hosts: readonly EmulatedHost[], host: string, link: number): string {
  const f = hosts.find((h) => h.name === host)?.interfaces.find((i) => i.link === link);
  if (f === undefined) return '';
  return (
    `      <${element} id="${f.name.replace('eth', '')}" name="${f.name}" ` +
    `ip4="${f.address}" ip4_mask="${f.prefixLength}"/>`
  );
}

/**
 * A link's options in CORE's units (delay in microseconds, bandwidth in bit/s, 0 = unlimited, loss
 * in %); none when the nodes emulate links, or when there is nothing to apply.
 */
function options(i: Impairment, opts: CoreOptions): string[] {
  const delay = Math.round(i.delayMs * 1000);
  const bandwidth = i.rateKbps === null ? 0 : Math.round(i.rateKbps * 1000);
  if (opts.emulateLinks || (delay === 0 && bandwidth === 0 && i.lossPct === 0)) return [];
  return [
    `      <options delay="${delay}" bandwidth="${bandwidth}" loss="${i.lossPct}" ` +
      'dup="0" jitter="0" unidirectional="0" buffer="0"/>',
  ];
}

export class CoreExportError extends Error {
  override readonly name = 'CoreExportError';
}

/**
 * CORE renders every service file with Mako, where `${...}`, `<%`, a trailing backslash and lines
 * starting with `%` or `##` mean something: a <%text> block passes the script through as it is.
 */
export function makoVerbatim(script: string, host: string): string {
  if (script.includes('</%text>'))
    throw new CoreExportError(`the start-up script of ${host} contains "</%text>" (check the paths given)`);
  return `<%text>${script}</%text>`;
}

function scenarioName(topo: Topology): string {
  return (
    topo.source
      .split('/')
      .pop()
      ?.replace(/\.json5?$/, '') ?? 'onode'
  );
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A CDATA section; a "]]>" inside is split across two sections. */
function cdata(s: string): string {
  return `<![CDATA[${s.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

/**
 * The overlay of bench/rtsp/main.ts: a path of `hops` overlay links from a server to a POP,
 *
 *   s1 -- n1 -- n2 -- … -- p1 -- clients
 *
 * written as a JSON5 topology file. Link L is 10.37.L.0/24 (the end nearer the server .1, the
 * other .2), clients reach p1 at 10.37.100.1; on loopback these are 127.37.L.x and 127.37.100.1.
 * Links have no emulated delay: what is measured is the nodes' own work.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PathTopology {
  readonly file: string;
  readonly server: string;
  readonly pop: string;
  /** Every node, server first. */
  readonly nodes: readonly string[];
}

/** At most this many links fit the address plan (10.37.1-99.x). */
export const MAX_PATH_HOPS = 99;

export function writePathTopology(dir: string, hops: number): PathTopology {
  if (!Number.isInteger(hops) || hops < 1 || hops > MAX_PATH_HOPS)
    throw new RangeError(`hops must be an integer from 1 to ${MAX_PATH_HOPS}, got ${hops}`);
  const names = ['s1', ...Array.from({ length: hops - 1 }, (_, i) => `n${i + 1}`), 'p1'];
  const nodes = names.map((name, i) => {
    const addresses = [...(i > 0 ? [`10.37.${i}.2`] : []), ...(i < hops ? [`10.37.${i + 1}.1`] : [])];
    if (name === 'p1')
      return (
        `    p1: { role: 'pop', addresses: ['${addresses.join("', '")}', '10.37.100.1'], ` +
        "clientAddresses: ['10.37.100.1'] },"
      );
    return `    ${name}: { role: '${i === 0 ? 'server' : 'node'}', addresses: ['${addresses.join("', '")}'] },`;
  });
  const links = names.slice(1).map((name, i) => `    { between: ['${names[i]}', '${name}'] },`);
  const header = `// ${hops}-hop path for bench/rtsp/main.ts (generated).`;
  const text = `${header}\n{\n  nodes: {\n${nodes.join('\n')}\n  },\n  links: [\n${links.join('\n')}\n  ],\n}\n`;
  const file = join(dir, `path-${hops}.json5`);
  writeFileSync(file, text);
  return { file, server: 's1', pop: 'p1', nodes: names };
}

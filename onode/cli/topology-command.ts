/**
 * `onode topology import FILE.graphml` and `onode topology generate`: native topology files from
 * a real operator network (the Internet Topology Zoo) or a synthetic model, checked by the same
 * loader every runner uses before they are written, so what is written always loads.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type Command, Option } from 'commander';
import { parseTopology } from '../config/topology.ts';
import type { GeoGraph } from '../topology/geo-graph.ts';
import { GenerateError, type GraphModel, generateGraph } from '../topology/generate.ts';
import { GraphmlError, readGraphml } from '../topology/graphml.ts';
import { chooseRoles, RoleError } from '../topology/roles.ts';
import { topologyText } from '../topology/topology-writer.ts';
import { UsageError } from './node-commands.ts';
import { intIn } from './options.ts';

const ZOO_CREDIT =
  'Network from the Internet Topology Zoo (CC BY 4.0): ' +
  'S. Knight et al., "The Internet Topology Zoo", IEEE JSAC 29(9), 2011.';

interface RoleFlags {
  servers: number;
  pops: number;
  seed: number;
  out?: string;
}

export function addTopologyCommand(program: Command): void {
  const topology = program
    .command('topology')
    .description('make topology files: from a real network (import) or a synthetic model (generate)');
  const roles = (c: Command): Command =>
    c
      .requiredOption('--servers <n>', 'how many servers (the best-connected places)', intIn(1, 10_000, 'a count'))
      .requiredOption('--pops <n>', 'how many POPs (the least-connected places)', intIn(1, 100_000, 'a count'))
      .option('--seed <k>', 'breaks ties between equally connected places', intIn(0, 2 ** 31, 'a seed'), 1)
      .option('--out <file>', 'write the topology to FILE (default: standard output)');
  roles(
    topology
      .command('import')
      .argument('<file>', 'a GraphML file, e.g. one of the Topology Zoo (../shared/data/topology-zoo)')
      .description('turn a GraphML network (Internet Topology Zoo) into a native topology file'),
  ).action((file: string, flags: RoleFlags) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`${file}: ${(err as Error).message}`);
    }
    const graph = guard(file, () => readGraphml(text, basename(file)));
    const command =
      `onode topology import ${basename(file)} --servers ${flags.servers} --pops ${flags.pops} ` +
      `--seed ${flags.seed}`;
    emit(graph, flags, [`${basename(file)}: written by \`${command}\`.`, ZOO_CREDIT]);
  });
  roles(
    topology
      .command('generate')
      .description('a synthetic network (Waxman or Barabási–Albert) as a native topology file')
      .requiredOption('--nodes <n>', 'how many places', intIn(2, 100_000, 'a count'))
      .addOption(
        new Option('--model <model>', 'the random graph model')
          .choices(['waxman', 'barabasi-albert'])
          .default('waxman'),
      ),
  ).action((flags: RoleFlags & { nodes: number; model: GraphModel }) => {
    const graph = guard('--model', () => generateGraph({ nodes: flags.nodes, model: flags.model, seed: flags.seed }));
    const command =
      `onode topology generate --nodes ${flags.nodes} --model ${flags.model} --servers ${flags.servers} ` +
      `--pops ${flags.pops} --seed ${flags.seed}`;
    emit(graph, flags, [`${graph.name}: written by \`${command}\`.`]);
  });
}

/** Roles, the file's text, a check that it loads, then stdout or --out; a summary on stderr. */
function emit(graph: GeoGraph, flags: RoleFlags, header: readonly string[]): void {
  const where = flags.out ?? graph.name;
  const roles = guard(graph.name, () => chooseRoles(graph, flags));
  const text = guard(graph.name, () => topologyText(roles, { header }));
  parseTopology(text, where);
  if (flags.out === undefined) process.stdout.write(text);
  else {
    try {
      writeFileSync(flags.out, text);
    } catch (err) {
      throw new UsageError(`--out ${flags.out}: ${(err as Error).message}`);
    }
  }
  const counted = (r: string) => [...roles.role.values()].filter((x) => x === r).length;
  const summary =
    `${graph.name}: ${roles.graph.nodes.length} places (${counted('server')} servers, ${counted('node')} relays, ` +
    `${counted('pop')} POPs), ${roles.graph.edges.length} links${flags.out === undefined ? '' : ` -> ${flags.out}`}`;
  process.stderr.write(`${[summary, ...roles.graph.notes.map((n) => `  note: ${n}`)].join('\n')}\n`);
}

/** Runs `make`, turning the importer's own errors into a usage error that names the file. */
function guard<T>(what: string, make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (err instanceof GraphmlError || err instanceof RoleError || err instanceof GenerateError) {
      throw new UsageError(`${what}: ${err.message}`);
    }
    throw err;
  }
}

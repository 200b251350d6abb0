/**
 * Runs a topology schema (topology-schema.ts) and turns what valibot found into one
 * TopologyError: the problem and fix from the issue's message, the place from its path,
 * phrased as the file's readers know it ("node 'o3', field 'addresses[1]'",
 * "links[2] between 'o3' and 'o7', field 'delayMs'", "network.links[0], field 'between[1]'").
 */
import * as v from 'valibot';
import { TopologyError } from './topology-error.ts';
import { at, isRecord } from './topology-fields.ts';
import { routerWhere } from './topology-network.ts';
import { unpackMessage } from './topology-schema.ts';
import { clientWhere, nodeWhere } from './topology-validate.ts';

type Key = string | number;
type Format = 'native' | 'legacy';

const FALLBACK_FIX = 'see topologies/README.md for the format';

/**
 * The schema's output for `raw`.
 * @throws TopologyError for the first problem, in the order a reader meets them
 */
export function validateTopology<S extends v.GenericSchema>(
  schema: S,
  raw: unknown,
  file: string,
  format: Format,
): v.InferOutput<S> {
  const result = v.safeParse(schema, raw);
  if (result.success) return result.output;
  const issue = firstIssue(result.issues);
  // Every rule in topology-schema.ts has a message of its own; this is a safety net.
  const text = unpackMessage(issue.message) ?? { problem: issue.message, fix: FALLBACK_FIX };
  throw new TopologyError(file, place(keysOf(issue), raw, format, isUnknownField(issue)), text.problem, text.fix);
}

function keysOf(issue: v.BaseIssue<unknown>): Key[] {
  return (issue.path ?? []).map((item) => item.key as Key);
}

function isUnknownField(issue: v.BaseIssue<unknown>): boolean {
  return issue.type === 'strict_object' && issue.expected === 'never';
}

/**
 * valibot reports an object's unknown field after the problems inside its fields; a reader
 * (and the loader before valibot) meets the stray field first. So the first issue wins, unless
 * an object around it (or the same object) has an unknown field: then the outermost of those.
 */
function firstIssue(issues: readonly [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]]): v.BaseIssue<unknown> {
  const first = issues[0];
  const path = keysOf(first);
  let chosen = first;
  let depth = Infinity;
  for (const issue of issues) {
    if (!isUnknownField(issue)) continue;
    const parent = keysOf(issue).slice(0, -1);
    if (parent.length < depth && parent.every((k, i) => path[i] === k)) {
      chosen = issue;
      depth = parent.length;
    }
  }
  return chosen;
}

/** Where the issue at `keys` is, as the loader's messages have always said it. */
function place(keys: readonly Key[], raw: unknown, format: Format, unknownField: boolean): string {
  const [k0, k1, k2] = keys;
  if (format === 'legacy') return k0 === undefined ? 'top level' : within(nodeWhere(String(k0)), keys.slice(1));
  // A link is named by its ends, except where its ends or its fields themselves are the problem.
  const named = unknownField ? false : k2 !== undefined && k2 !== 'between';
  if (k0 === 'nodes' && k1 !== undefined) return within(nodeWhere(String(k1)), keys.slice(2));
  if (k0 === 'clients' && k1 !== undefined) return within(clientWhere(String(k1)), keys.slice(2));
  if (k0 === 'links' && typeof k1 === 'number') {
    const link = valueAt(raw, ['links', k1]);
    const where = linkWhere(`links[${k1}]`, link, named, (ends) => `'${ends[0]}' and '${ends[1]}'`);
    return within(where, keys.slice(2));
  }
  if (k0 === 'network') {
    const k3 = keys[3];
    if (k1 === 'routers' && k2 !== undefined) return within(routerWhere(String(k2)), keys.slice(3));
    if (k1 === 'links' && typeof k2 === 'number') {
      const networkNamed = unknownField ? false : k3 !== undefined && k3 !== 'between';
      const link = valueAt(raw, ['network', 'links', k2]);
      const where = linkWhere(`network.links[${k2}]`, link, networkNamed, quotedList);
      return within(where, keys.slice(3));
    }
    return within('network', keys.slice(1));
  }
  return within('top level', keys);
}

const quotedList = (names: readonly string[]): string => names.map((e) => `'${e}'`).join(', ');

/** "links[2]", or "links[2] between 'o3' and 'o7'" once its ends are names. */
function linkWhere(owner: string, link: unknown, named: boolean, ends: (names: string[]) => string): string {
  const between = isRecord(link) ? link.between : undefined;
  if (!named || !Array.isArray(between) || between.length < 2) return owner;
  const names = between.filter((e): e is string => typeof e === 'string');
  return names.length === between.length ? `${owner} between ${ends(names)}` : owner;
}

function valueAt(raw: unknown, keys: readonly Key[]): unknown {
  let value = raw;
  for (const key of keys) {
    if (Array.isArray(value) && typeof key === 'number') value = value[key];
    else if (isRecord(value) && typeof key === 'string') value = value[key];
    else return undefined;
  }
  return value;
}

/** owner + the field path under it: "addresses[1]", "addresses.o2", "between[0]". */
function within(owner: string, keys: readonly Key[]): string {
  const [head, ...rest] = keys;
  if (head === undefined) return owner;
  const field = rest.reduce<string>((f, k) => (typeof k === 'number' ? `${f}[${k}]` : `${f}.${k}`), String(head));
  return at(owner, field);
}

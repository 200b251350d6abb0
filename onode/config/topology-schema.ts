/**
 * The structure of topology files as valibot schemas: which fields exist, their types, ranges,
 * names and addresses. Each rule's message carries the problem and the fix a TopologyError
 * shows, so the words sit next to the rule; topology-issues.ts adds where it is (file, node or
 * link, field) from the issue's path. What needs more than one field (names that must exist,
 * an address owned twice, subnets, a POP's client addresses) stays in code, in
 * topology-native.ts, topology-legacy.ts, topology-network.ts and topology-validate.ts.
 *
 * Objects are checked with isRecord before valibot's object schemas, which take a list for an
 * object. Names valibot's records skip (`constructor`, `prototype`, `__proto__`) are refused
 * rather than silently dropped.
 */
import { MAX_LINK_DELAY_MS } from '../../common/wire/bootstrap-schema.ts';
import * as v from 'valibot';
import type { NodeRole } from './topology-model.ts';
import { TOPOLOGY_NAME } from '../../common/wire/names.ts';
import { closestKey, describeValue, IPV4_FIX, isRecord, MAX_NAME_LENGTH, unknownFieldFix } from './topology-fields.ts';
import { checkIPv4 } from './topology-ipv4.ts';

/** A valibot message function; what it returns is a packed problem and fix (see say). */
type Message = (issue: v.BaseIssue<unknown>) => string;

/** Packs a problem and its fix into one valibot message; unpackMessage reverses it. */
export function say(problem: string, fix: string): string {
  return JSON.stringify([problem, fix]);
}

/** The problem and fix of a message made by say, or null for any other message. */
export function unpackMessage(message: string): { problem: string; fix: string } | null {
  try {
    const parsed: unknown = JSON.parse(message);
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [problem, fix] = parsed as unknown[];
      if (typeof problem === 'string' && typeof fix === 'string') return { problem, fix };
    }
  } catch {
    // not one of ours
  }
  return null;
}

/** "expected WHAT, got the number 3". */
const expected =
  (what: string, fix: string): Message =>
  (issue) =>
    say(`expected ${what}, got ${describeValue(issue.input)}`, fix);

/** Keys valibot's records skip; a node by such a name would vanish. */
const RESERVED_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Node, client and router names: a letter, then letters, digits, '-' or '_'. */
const nameKey = v.pipe(
  v.string(),
  v.maxLength(MAX_NAME_LENGTH, (issue) =>
    say(`the name is ${String(issue.input).length} characters long`, `use at most ${MAX_NAME_LENGTH} characters`),
  ),
  v.regex(
    TOPOLOGY_NAME,
    say(
      'the name is not usable',
      "start it with a letter and use only letters, digits, '-' and '_' (e.g. 'o3', 'pop-north')",
    ),
  ),
);

const reservedKeys = v.rawCheck<Record<string, unknown>>(({ dataset, addIssue }) => {
  if (!dataset.typed) return;
  const input = dataset.value;
  for (const key of RESERVED_KEYS) {
    if (!Object.hasOwn(input, key)) continue;
    addIssue({
      message: say(`'${key}' cannot be used as a name here`, 'choose another name'),
      path: [{ type: 'object', origin: 'key', input, key, value: input[key] }],
    });
  }
});

/** An object of `value`s by name (nodes, clients, routers); `keys` checks the names. */
function byName<T extends v.GenericSchema>(value: T, type: Message, keys: v.GenericSchema<string, string> = nameKey) {
  return v.pipe(v.custom<Record<string, unknown>>(isRecord, type), reservedKeys, v.record(keys, value));
}

interface ObjectText {
  /** Not an object at all. */
  readonly type: Message;
  /** Per required field: how to add it when it is missing. */
  readonly missing: Readonly<Record<string, string>>;
  /** Per field name people write by mistake: where it went (else the closest known field). */
  readonly hints?: Readonly<Record<string, string>>;
}

/** An object with exactly these fields: unknown ones are refused with the closest known name. */
function fields<const E extends v.ObjectEntries>(entries: E, text: ObjectText) {
  const known = Object.keys(entries);
  return v.pipe(
    v.custom<Record<string, unknown>>(isRecord, text.type),
    v.strictObject(entries, (issue) => {
      const key = String(issue.path?.at(-1)?.key ?? '');
      // strictObject reports an unknown field with expected 'never', a missing one with expected '"key"'.
      if (issue.expected === 'never') {
        return say(`'${key}' is not a known field`, unknownFieldFix(key, known, text.hints));
      }
      return say('is missing', text.missing[key] ?? `add ${key}`);
    }),
  );
}

/** An IPv4 host address; `mark`, when given, is a suffix allowed after it (legacy server mark). */
function ipv4(mark?: string) {
  return v.pipe(
    v.string(expected('an IPv4 address', "write it as a quoted string, e.g. '10.0.19.1'")),
    v.rawCheck<string>(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const value = dataset.value;
      const text = mark !== undefined && value.endsWith(mark) ? value.slice(0, -mark.length) : value;
      switch (checkIPv4(text)) {
        case 'malformed':
          return addIssue({ message: say(`'${text}' is not a valid IPv4 address`, IPV4_FIX) });
        case 'not-unicast':
          return addIssue({
            message: say(
              `'${text}' is not a host address (0.x.x.x, multicast and reserved ranges cannot be assigned to a host)`,
              'use a unicast address, e.g. in 10.0.0.0/8',
            ),
          });
        case null:
          return;
      }
    }),
  );
}

const address = ipv4();

/** How to add a missing list of addresses called `field`. */
const addAddresses = (field: string): string => `add ${field}: ['10.0.0.1', ...] with the host's IPv4 addresses`;

/** A list of distinct IPv4 addresses called `field` (for the duplicate's message); empty only if allowed. */
function addressList(field: string, allowEmpty = false) {
  const list = v.array(address, expected('a list of IPv4 addresses', "write it as ['10.0.0.1', ...]"));
  const distinct = v.rawCheck<string[]>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const input = dataset.value;
    input.forEach((value, key) => {
      const earlier = input.indexOf(value);
      if (earlier === key) return;
      addIssue({
        message: say(`'${value}' is already ${field}[${earlier}]`, 'remove the duplicate'),
        path: [{ type: 'array', origin: 'value', input, key, value }],
      });
    });
  });
  if (allowEmpty) return v.pipe(list, distinct);
  return v.pipe(list, v.minLength(1, say('the list is empty', 'list at least one IPv4 address')), distinct);
}

/** A finite number accepted by `valid`. */
function numberField(wanted: string, example: string, valid: (n: number) => boolean) {
  const message = expected(wanted, `write e.g. ${example}`);
  return v.pipe(
    v.number(message),
    v.check((n) => Number.isFinite(n) && valid(n), message),
  );
}

const delayMs = v.pipe(
  numberField('a one-way delay in ms, 0 or more', 'delayMs: 2', (n) => n >= 0),
  // Longer would not fit a timer once summed along a path (Node turns it into 1 ms).
  v.check(
    (n) => n <= MAX_LINK_DELAY_MS,
    expected(`a one-way delay of at most ${MAX_LINK_DELAY_MS} ms (an hour)`, 'write e.g. delayMs: 2'),
  ),
);
const lossPct = numberField('a loss percentage from 0 to 100', 'lossPct: 1.5', (n) => n >= 0 && n <= 100);
/** null (or absent): unlimited. */
const rateKbps = v.nullable(
  numberField('a rate in kbit/s above 0', 'rateKbps: 10000, or null (or nothing) for unlimited', (n) => n > 0),
);

interface NameListText {
  /** What the list should be, e.g. 'a list of two node names'; `fix` how to write it. */
  readonly wanted: string;
  readonly fix: string;
  /** Whether n items are right, and how n items are said ("1 items" is what the loader always said). */
  readonly count: (n: number) => boolean;
  readonly countText: (n: number) => string;
  /** What each item should be, and how to fix one. */
  readonly item: string;
  readonly itemFix: string;
}

/** A `between` list: the right number of strings (which names exist is checked in code). */
function nameList(t: NameListText) {
  return v.pipe(
    v.custom<unknown[]>(Array.isArray, expected(t.wanted, t.fix)),
    v.check(
      (list) => t.count(list.length),
      (issue) => say(`expected ${t.wanted}, got ${t.countText((issue.input as unknown[]).length)}`, t.fix),
    ),
    v.array(v.string(expected(t.item, t.itemFix))),
  );
}

/** The strings of a `between` list as written, for messages about the rest of its link. */
function endsOf(link: unknown): string[] {
  const between = isRecord(link) ? link.between : undefined;
  return Array.isArray(between) ? between.filter((e): e is string => typeof e === 'string') : [];
}

type Count = (n: number) => boolean;

/** `ends` when they are `count`-many distinct names of `names`, else [] (code reports their problem). */
function knownEnds(ends: readonly string[], names: ReadonlySet<string>, count: Count): readonly string[] {
  const distinct = new Set(ends).size === ends.length;
  return count(ends.length) && distinct && ends.every((e) => names.has(e)) ? ends : [];
}

/**
 * Addresses keyed by an end of the link. While the ends themselves are wrong (`ends` is []),
 * any key passes here: the problem with `between` is the one to report.
 */
function endAddresses(ends: readonly string[], wanted: string, example: string, fix: string) {
  const key = v.pipe(
    v.string(),
    v.check(
      (name) => ends.length === 0 || ends.includes(name),
      (issue) => say(`'${String(issue.input)}' is not an end of this link`, fix),
    ),
  );
  return byName(address, expected(wanted, `write it as addresses: ${example}`), key);
}

const ROLES: readonly NodeRole[] = ['server', 'node', 'pop'];
const ROLE_CHOICES = "set role to 'server', 'node' or 'pop'";

const role = v.picklist(ROLES, (issue) => {
  const close = typeof issue.input === 'string' ? closestKey(issue.input, ROLES) : null;
  const fix = close !== null ? `did you mean '${close}'? ${ROLE_CHOICES}` : ROLE_CHOICES;
  return say(`${describeValue(issue.input)} is not a role`, fix);
});

/** Legacy field names people carry over by habit into the native format, and where they went. */
const NODE_HINTS = {
  names: "the native format calls them 'addresses'",
  pop: "POPs set role: 'pop' and list 'clientAddresses'",
  neighbours: "declare neighbours as entries of the top-level 'links' list",
  neighbors: "declare neighbours as entries of the top-level 'links' list",
};

const NODES_EXAMPLE = "nodes: { s1: { role: 'server', addresses: ['10.0.0.10'] }, ... }";
const LINK_FIX = "write it as { between: ['s1', 'o2'], delayMs: 2 }";
const LINKS_FIX = "write it as [ { between: ['s1', 'o2'] }, ... ]";
const NETWORK_FIX = "write it as network: { routers: { ... }, links: [ { between: ['s1', 'o2'], delayMs: 2 } ] }";
const NETWORK_BETWEEN = "between: ['s1', 'o2'] (three or more names make a LAN)";

const nativeNode = fields(
  { role, addresses: addressList('addresses'), clientAddresses: v.optional(addressList('clientAddresses', true)) },
  {
    type: expected('an object', "write it as { role: 'node', addresses: ['10.0.0.1'] }"),
    missing: { role: ROLE_CHOICES, addresses: addAddresses('addresses') },
    hints: NODE_HINTS,
  },
);

const client = fields(
  {
    addresses: addressList('addresses'),
    pop: v.nullish(v.string(expected('a POP name', "write the POP's name in quotes, e.g. 'o5'"))),
  },
  {
    type: expected('an object', "write it as { addresses: ['10.0.6.20'], pop: 'o5' }"),
    missing: { addresses: addAddresses('addresses') },
  },
);

const router = fields(
  { addresses: addressList('addresses') },
  {
    type: expected('an object', "write it as { addresses: ['10.0.18.1', '10.0.14.2'] }"),
    missing: { addresses: addAddresses('addresses') },
  },
);

function overlayLink(nodeNames: readonly string[]) {
  // Once for all links, not per link: a file may have thousands of each.
  const known = new Set(nodeNames);
  const itemFix = `use one of the nodes: ${nodeNames.join(', ')}`;
  return v.lazy((input) => {
    const ends = endsOf(input);
    const [a = 's1', b = 'o2'] = ends;
    const addresses = endAddresses(
      knownEnds(ends, known, (n) => n === 2),
      'an object of addresses by node name',
      `{ ${a}: '...', ${b}: '...' }`,
      `key the addresses by '${a}' or '${b}'`,
    );
    return fields(
      {
        between: nameList({
          wanted: 'a list of two node names',
          fix: "write it as between: ['s1', 'o2']",
          count: (n) => n === 2,
          countText: (n) => `${n} items`,
          item: 'a node name',
          itemFix,
        }),
        addresses: v.optional(addresses),
        delayMs: v.optional(delayMs),
        lossPct: v.optional(lossPct),
        rateKbps: v.optional(rateKbps),
      },
      {
        type: expected('an object', LINK_FIX),
        missing: { between: "name the two nodes the link joins, e.g. between: ['s1', 'o2']" },
      },
    );
  });
}

function networkLink(hostNames: readonly string[]) {
  const known = new Set(hostNames);
  const itemFix = `use one of: ${hostNames.join(', ')}, or declare it in network.routers`;
  return v.lazy((input) => {
    const ends = endsOf(input);
    const [first = 'h'] = ends;
    const addresses = endAddresses(
      knownEnds(ends, known, (n) => n >= 2),
      'an object of addresses by host name',
      `{ ${first}: '...' }`,
      `key the addresses by ${ends.map((e) => `'${e}'`).join(', ')}`,
    );
    return fields(
      {
        between: nameList({
          wanted: 'a list of two or more host names',
          fix: `write it as ${NETWORK_BETWEEN}`,
          count: (n) => n >= 2,
          countText: (n) => `${n} item(s)`,
          item: 'a host name',
          itemFix,
        }),
        addresses: v.optional(addresses),
        delayMs: v.optional(delayMs),
        lossPct: v.optional(lossPct),
        rateKbps: v.optional(rateKbps),
      },
      {
        type: expected('an object', LINK_FIX),
        missing: { between: `name the hosts it joins, e.g. ${NETWORK_BETWEEN}` },
      },
    );
  });
}

function network(hostNames: readonly string[]) {
  return fields(
    {
      routers: v.optional(
        byName(
          router,
          expected(
            'an object of routers by name',
            "write it as routers: { r1: { addresses: ['10.0.18.1', '10.0.14.2'] } }",
          ),
        ),
      ),
      links: v.array(networkLink(hostNames), expected('a list of links', LINKS_FIX)),
    },
    {
      type: expected('an object', NETWORK_FIX),
      missing: { links: "list the network's links: links: [ { between: ['s1', 'o2'] }, ... ]" },
    },
  );
}

const keysOf = (value: unknown): string[] => (isRecord(value) ? Object.keys(value) : []);

const BOOTSTRAPPER_FIX = "write a server's name in quotes, e.g. 's1', or a list of them, e.g. ['s1', 's2']";
const BOOTSTRAPPER_TYPE = expected('a server name or a list of server names', BOOTSTRAPPER_FIX);

/**
 * The native format (see topology-native.ts). `raw` is the parsed file: the names it declares
 * go into the fixes that list them.
 */
export function nativeSchema(raw: Readonly<Record<string, unknown>>) {
  const nodeNames = keysOf(raw.nodes);
  const routers = isRecord(raw.network) ? keysOf(raw.network.routers) : [];
  return fields(
    {
      bootstrapper: v.optional(
        v.union(
          [
            v.string(),
            v.pipe(
              v.array(v.string(BOOTSTRAPPER_TYPE), BOOTSTRAPPER_TYPE),
              v.check((names) => names.length > 0, say('the list is empty', BOOTSTRAPPER_FIX)),
            ),
          ],
          BOOTSTRAPPER_TYPE,
        ),
      ),
      nodes: v.pipe(
        byName(nativeNode, expected('an object of nodes by name', `write it as ${NODES_EXAMPLE}`)),
        v.check((nodes) => Object.keys(nodes).length > 0, say('there are no nodes', `add them: ${NODES_EXAMPLE}`)),
      ),
      links: v.optional(v.array(overlayLink(nodeNames), expected('a list of links', LINKS_FIX))),
      clients: v.optional(
        byName(
          client,
          expected(
            'an object of clients by name',
            "write it as clients: { c1: { addresses: ['10.0.6.20'], pop: 'o5' } }",
          ),
        ),
      ),
      network: v.optional(network([...nodeNames, ...keysOf(raw.clients), ...routers])),
    },
    {
      type: expected('an object', 'wrap the topology in { nodes: { ... }, links: [ ... ] }'),
      missing: { nodes: `add ${NODES_EXAMPLE}` },
    },
  );
}

export type NativeFile = v.InferOutput<ReturnType<typeof nativeSchema>>;

/** The suffix that marks a server's address in a legacy `neighbours` list. */
export const SERVER_MARK = 's';

const legacyNode = fields(
  {
    names: addressList('names'),
    neighbours: v.optional(
      v.array(ipv4(SERVER_MARK), expected('a list of addresses', 'write it as ["10.0.19.1", "10.0.25.10s", ...]')),
    ),
    pop: v.optional(addressList('pop', true)),
  },
  {
    type: expected('an object', 'write it as { "names": [...], "neighbours": [...], "pop": [] }'),
    missing: { names: addAddresses('names') },
  },
);

/** The legacy format of the report (see topology-legacy.ts): nodes by name at the top level. */
export const legacySchema = byName(
  legacyNode,
  expected('an object of nodes by name', 'write it as { "s1": { "names": [...], "neighbours": [...] } }'),
);

export type LegacyFile = v.InferOutput<typeof legacySchema>;

/**
 * The overlay as SVG for a report: nodes in rows by hop distance from the servers (servers on
 * top, POPs and their viewers lower), overlay links in grey (dead ones dashed red), each movie's
 * distribution tree drawn over them in its colour with arrows toward the viewers.
 */
import { colour, esc, svgDocument } from './svg.ts';

export interface GraphNode {
  readonly name: string;
  readonly role: string;
}

export interface GraphLink {
  readonly a: string;
  readonly b: string;
  readonly alive: boolean;
}

export interface GraphTree {
  readonly movie: string;
  readonly server: string | null;
  /** [upstream, downstream] */
  readonly edges: readonly (readonly [string, string])[];
}

export interface OverlayGraph {
  readonly title: string;
  readonly nodes: readonly GraphNode[];
  readonly links: readonly GraphLink[];
  readonly trees: readonly GraphTree[];
}

const ROLE_FILL: Readonly<Record<string, string>> = { server: '#ffd966', node: '#cfe2f3', pop: '#b6d7a8' };

/** Rows by hop distance from the servers; nodes no server reaches go last. */
export function layers(nodes: readonly GraphNode[], links: readonly GraphLink[]): string[][] {
  const next = new Map<string, string[]>(nodes.map((n) => [n.name, []]));
  for (const l of links) {
    next.get(l.a)?.push(l.b);
    next.get(l.b)?.push(l.a);
  }
  const depth = new Map<string, number>();
  let frontier = nodes.filter((n) => n.role === 'server').map((n) => n.name);
  for (const n of frontier) depth.set(n, 0);
  for (let d = 1; frontier.length > 0; d++) {
    frontier = frontier.flatMap((n) => (next.get(n) ?? []).filter((m) => !depth.has(m) && depth.set(m, d)));
  }
  const deepest = Math.max(0, ...depth.values());
  const rows = new Map<number, string[]>();
  for (const n of nodes) {
    const d = depth.get(n.name) ?? deepest + 1;
    rows.set(d, [...(rows.get(d) ?? []), n.name]);
  }
  return [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([, names]) => names);
}

export function overlayGraphSvg(graph: OverlayGraph): string {
  const rows = layers(graph.nodes, graph.links);
  const width = Math.max(600, 140 * Math.max(...rows.map((r) => r.length)));
  const height = 90 + rows.length * 110 + graph.trees.length * 18;
  const at = new Map<string, { x: number; y: number }>();
  for (const [d, row] of rows.entries()) {
    for (const [i, name] of row.entries()) at.set(name, { x: ((i + 1) * width) / (row.length + 1), y: 70 + d * 110 });
  }
  const body: string[] = [
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${esc(graph.title)}</text>`,
    '<defs>',
    ...graph.trees.map(
      (_, i) =>
        `<marker id="arrow${i}" viewBox="0 0 10 10" refX="24" refY="5" markerWidth="6" markerHeight="6" ` +
        `orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="${colour(i + 1)}"/></marker>`,
    ),
    '</defs>',
  ];
  for (const l of graph.links) {
    const a = at.get(l.a);
    const b = at.get(l.b);
    if (!a || !b) continue;
    const style = l.alive
      ? 'stroke="#bbb" stroke-width="2"'
      : 'stroke="#d62728" stroke-width="2" stroke-dasharray="6 4"';
    body.push(`<line x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}" ${style}/>`);
  }
  graph.trees.forEach((t, i) => {
    const offset = (i - (graph.trees.length - 1) / 2) * 4;
    for (const [from, to] of t.edges) {
      const a = at.get(from);
      const b = at.get(to);
      if (!a || !b) continue;
      body.push(
        `<line x1="${a.x + offset}" y1="${a.y + offset}" x2="${b.x + offset}" y2="${b.y + offset}" ` +
          `stroke="${colour(i + 1)}" stroke-width="3" marker-end="url(#arrow${i})"/>`,
      );
    }
  });
  for (const n of graph.nodes) {
    const p = at.get(n.name);
    if (!p) continue;
    const fill = ROLE_FILL[n.role] ?? '#eee';
    body.push(
      n.role === 'server'
        ? `<rect x="${p.x - 20}" y="${p.y - 15}" width="40" height="30" rx="4" fill="${fill}" stroke="#333"/>`
        : `<circle cx="${p.x}" cy="${p.y}" r="17" fill="${fill}" stroke="#333"/>`,
      `<text x="${p.x}" y="${p.y + 4}" text-anchor="middle">${esc(n.name)}</text>`,
    );
  }
  const legendY = 70 + rows.length * 110 - 20;
  graph.trees.forEach((t, i) => {
    const y = legendY + i * 18;
    body.push(
      `<line x1="20" x2="44" y1="${y}" y2="${y}" stroke="${colour(i + 1)}" stroke-width="3"/>`,
      `<text x="50" y="${y + 4}">${esc(t.movie)}${t.server ? ` from ${esc(t.server)}` : ''}</text>`,
    );
  });
  return svgDocument(width, height, body);
}

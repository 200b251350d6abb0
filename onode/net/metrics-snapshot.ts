/**
 * What a scrape reads: the node's GET /status report with its lists cut to the export bounds,
 * and the helpers the metric tables (metrics-node.ts, metrics-pop.ts) are written with.
 */
import type {
  NeighbourStatus,
  RouteStatus,
  SessionStatus,
  StatusReport,
  StreamStatus,
} from '../../common/wire/status-api.ts';
import { type MetricSpec, perItem } from './metric-spec.ts';

/**
 * Series per labelled family at most, so that a node with a huge catalogue or a hostile
 * neighbour set cannot make a scrape unbounded: movies streamed, neighbours, servers routed.
 * Whatever is left out is counted in onode_metrics_omitted_series.
 */
export const MAX_EXPORTED_STREAMS = 100;
export const MAX_EXPORTED_NEIGHBOURS = 64;
export const MAX_EXPORTED_ROUTES = 64;
/** RTSP sessions exported one by one (POPs hold up to 1024). */
export const MAX_EXPORTED_SESSIONS = 128;

/** A node's report with its lists cut to the bounds above, and what was cut. */
export interface NodeSnapshot {
  readonly report: StatusReport;
  readonly streams: readonly StreamStatus[];
  readonly neighbours: readonly NeighbourStatus[];
  readonly routes: readonly RouteStatus[];
  readonly sessions: readonly SessionStatus[];
  readonly omitted: {
    readonly stream: number;
    readonly neighbour: number;
    readonly route: number;
    readonly session: number;
    /** Counted by the viewer table's own snapshot (metrics-viewers.ts). */
    readonly viewer: number;
  };
}

export function nodeSnapshot(report: StatusReport, viewersOmitted = 0): NodeSnapshot {
  const streams = report.streams ?? [];
  const neighbours = report.neighbours ?? [];
  const routes = report.routes ?? [];
  const sessions = report.sessions ?? [];
  return {
    report,
    streams: streams.slice(0, MAX_EXPORTED_STREAMS),
    neighbours: neighbours.slice(0, MAX_EXPORTED_NEIGHBOURS),
    routes: routes.slice(0, MAX_EXPORTED_ROUTES),
    sessions: sessions.slice(0, MAX_EXPORTED_SESSIONS),
    omitted: {
      stream: Math.max(0, streams.length - MAX_EXPORTED_STREAMS),
      neighbour: Math.max(0, neighbours.length - MAX_EXPORTED_NEIGHBOURS),
      route: Math.max(0, routes.length - MAX_EXPORTED_ROUTES),
      session: Math.max(0, sessions.length - MAX_EXPORTED_SESSIONS),
      viewer: viewersOmitted,
    },
  };
}

export type Spec = MetricSpec<NodeSnapshot>;
type Group = keyof NonNullable<StatusReport['counters']>;

/** A counter the report keeps in counters[group][key] (absent on roles without that part). */
export function counted(group: Exclude<Group, 'rtsp'>, key: string) {
  return (s: NodeSnapshot): number | undefined => s.report.counters?.[group]?.[key];
}

export function byReason(
  name: string,
  help: string,
  label: string,
  pairs: readonly (readonly [string, string])[],
  read: (s: NodeSnapshot, counter: string) => number | undefined,
): Spec {
  return perItem(
    'counter',
    name,
    help,
    [label],
    (s) => pairs.map(([value, counter]) => [value, read(s, counter)] as const),
    ([value]) => ({ [label]: value }),
    ([, v]) => v,
  );
}

/**
 * A metric described as data: its Prometheus name, type, help and labels, and how to read its
 * series from a snapshot taken at scrape time. Nothing is counted on the packet path: a scrape
 * reads the counters the node keeps anyway (metrics.ts binds these specs to prom-client).
 */

export type MetricType = 'counter' | 'gauge';
export type LabelValues = Readonly<Record<string, string>>;
/** One series: its labels (beyond the registry's node and role) and its value now. */
export type Sample = readonly [labels: LabelValues, value: number];

export interface MetricSpec<S> {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  /** The series now; a value not known (null, undefined) has no series. */
  readonly read: (snapshot: S) => readonly Sample[];
}

type Value = number | null | undefined;

/** An unlabelled metric; no series while the reader returns null or undefined. */
export function single<S>(type: MetricType, name: string, help: string, value: (s: S) => Value): MetricSpec<S> {
  return {
    name,
    type,
    help,
    labels: [],
    read: (s) => {
      const v = value(s);
      return v === null || v === undefined ? [] : [[{}, v]];
    },
  };
}

/**
 * A labelled metric: one series per item the snapshot lists. `labels` names the label of each
 * key `label` returns; items without a value are skipped.
 */
export function perItem<S, T>(
  type: MetricType,
  name: string,
  help: string,
  labels: readonly string[],
  items: (s: S) => readonly T[],
  label: (item: T) => LabelValues,
  value: (item: T) => Value,
): MetricSpec<S> {
  return {
    name,
    type,
    help,
    labels,
    read: (s) => {
      const out: Sample[] = [];
      for (const item of items(s)) {
        const v = value(item);
        if (v !== null && v !== undefined) out.push([label(item), v]);
      }
      return out;
    },
  };
}

/** ms → s, the unit Prometheus wants; null stays null. */
export function seconds(ms: number | null | undefined): number | null {
  return ms === null || ms === undefined ? null : ms / 1000;
}

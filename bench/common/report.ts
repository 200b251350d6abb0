/** How every benchmark program prints: lines to stdout, and its closing summary of measures against targets. */

export const say = (s = ''): void => {
  process.stdout.write(`${s}\n`);
};

/** One line of a summary: what was measured, its value, the target and whether it was met. */
export interface SummaryRow {
  readonly what: string;
  readonly value: string;
  readonly target: string;
  readonly verdict: string;
}

/** 'met' or 'MISSED'; '' when there is no target. */
export function verdict(ok: boolean | null): string {
  return ok === null ? '' : ok ? 'met' : 'MISSED';
}

/** Prints the summary: names left-aligned, values right-aligned, so the numbers line up. */
export function printSummary(rows: readonly SummaryRow[]): void {
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => [r.what, r.value, r.target][i]!.length)));
  for (const r of rows)
    say(`  ${r.what.padEnd(w[0]!)}  ${r.value.padStart(w[1]!)}  ${r.target.padEnd(w[2]!)}  ${r.verdict}`.trimEnd());
}

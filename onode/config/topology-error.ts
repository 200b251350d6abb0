/**
 * A problem in a topology file, phrased for the person editing it: which file, where in it,
 * what is wrong and how to fix it.
 */
export class TopologyError extends Error {
  /**
   * @param file the topology file (or source label) the problem is in
   * @param where the place in it, e.g. "node 'o3', field 'addresses[1]'" or "line 4, column 7"
   * @param problem what is wrong, without a trailing period
   * @param fix what to change, without a trailing period
   */
  constructor(
    readonly file: string,
    readonly where: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${file}: ${where}: ${problem}. Fix: ${fix}`);
    this.name = 'TopologyError';
  }
}

/**
 * The end of an emulator run, for people: did the overlay come up, and what did each client
 * get. Pure: takes what the driver recorded (RESULT.json) and the clients' stats files.
 */
import { textTable } from '../../common/core/text-table.ts';

/** What the Mininet driver records (see mininet-driver.py). */
export interface DriverResult {
  readonly ready: boolean;
  /** null when the driver failed before it could tell. */
  readonly netem: boolean | null;
  readonly readySeconds?: number;
  readonly clientSeconds?: number;
  /** Wall-clock times (ms since the epoch): every POP routed, clients started (bench:emulators). */
  readonly readyAt?: number;
  readonly clientsStartedAt?: number;
  readonly registered?: readonly string[];
  readonly missing?: readonly string[];
  readonly unrouted?: readonly string[];
  /** Host → the interfaces in its namespace once built. */
  readonly hostLinks?: Readonly<Record<string, readonly string[]>>;
  /** Client → exit code; null: still playing when the run stopped. */
  readonly clients: Readonly<Record<string, number | null>>;
  readonly error?: string;
  readonly stopped?: string;
}

/** The fields of oclient's --stats file the summary shows. */
export interface ClientStats {
  readonly movie?: string;
  readonly pop?: string;
  readonly framesReceived?: number;
  readonly framesLost?: number;
  readonly packetsLost?: number;
  readonly startupMs?: number | null;
  readonly fps?: number;
  readonly jitterMs?: number;
  /** Wall-clock time of the first frame (ms since the epoch). */
  readonly firstFrameAt?: number | null;
}

/** What oclient's exit codes mean (see README, Client). */
const CLIENT_EXITS: Readonly<Record<number, string>> = {
  0: 'played',
  2: 'usage error',
  3: 'bootstrapper unreachable',
  4: 'no POP answered',
  5: 'unknown movie',
  6: 'POP failed',
  7: 'no frames arrived',
  8: 'every POP refused',
  9: 'cannot write output',
};

export interface RunSummary {
  readonly text: string;
  /** True when the overlay came up and every client received frames. */
  readonly ok: boolean;
}

export function summarizeRun(
  result: DriverResult,
  clients: readonly string[],
  stats: ReadonlyMap<string, ClientStats | null>,
): RunSummary {
  const lines: string[] = [];
  let ok = result.ready && result.error === undefined && result.stopped === undefined;
  if (result.error !== undefined) lines.push(`the run failed: ${result.error}`);
  if (result.stopped !== undefined) lines.push(`stopped early (${result.stopped})`);
  if (!result.ready && result.error === undefined) {
    const missing = result.missing ?? [];
    const unrouted = result.unrouted ?? [];
    lines.push(
      `the overlay never became ready: ${
        missing.length > 0
          ? `not registered: ${missing.join(', ')}`
          : `POPs without a route to every server: ${unrouted.join(', ')}`
      } (see their logs)`,
    );
  }
  if (result.netem === false)
    lines.push('links: no netem in this kernel, so the nodes applied delay and loss themselves');
  const rows = [['client', 'movie', 'POP', 'frames', 'lost', 'pkts lost', 'startup ms', 'fps', 'jitter ms', 'exit']];
  for (const name of clients) {
    const s = stats.get(name) ?? null;
    const code = result.clients[name];
    const exit =
      code === undefined
        ? 'not started'
        : code === null
          ? 'still playing'
          : `${code} ${CLIENT_EXITS[code] ?? ''}`.trim();
    const frames = s?.framesReceived ?? 0;
    if (frames === 0) ok = false;
    rows.push(
      s === null
        ? [name, '-', '-', '0', '-', '-', '-', '-', '-', exit]
        : [
            name,
            s.movie ?? '-',
            s.pop ?? '-',
            String(frames),
            num(s.framesLost, 0),
            num(s.packetsLost, 0),
            s.startupMs === null || s.startupMs === undefined ? '-' : num(s.startupMs, 0),
            num(s.fps, 1),
            num(s.jitterMs, 2),
            exit,
          ],
    );
  }
  if (clients.length > 0) lines.push(textTable(rows));
  const failed = clients.filter((c) => (stats.get(c)?.framesReceived ?? 0) === 0);
  // A client that had frames and then failed (every POP refused it, say) did not receive its stream.
  const quit = clients.filter((c) => !failed.includes(c) && (result.clients[c] ?? 0) !== 0);
  if (quit.length > 0) ok = false;
  if (ok)
    lines.push(`every client received its stream${result.clientSeconds ? ` (${result.clientSeconds} s each)` : ''}`);
  else if (failed.length > 0 || quit.length > 0) {
    if (failed.length > 0) lines.push(`no stream for: ${failed.join(', ')}`);
    if (quit.length > 0)
      lines.push(`ended in failure: ${quit.map((c) => `${c} (exit ${result.clients[c]})`).join(', ')}`);
  } else
    lines.push(result.stopped !== undefined ? 'every client had frames when it stopped' : 'the run did not complete');
  return { text: lines.join('\n'), ok };
}

function num(n: number | undefined, digits: number): string {
  return n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

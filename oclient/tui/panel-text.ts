/**
 * The side panels' text (blessed tags): the POPs with their RTT, the live statistics and the
 * movie list. Pure, so the wording is testable without a terminal.
 */
import type { MovieInfo } from '../../common/wire/overlay.ts';
import type { PopRtt } from '../net/pop-prober.ts';
import type { SessionStats } from '../net/play-session.ts';
import type { TimelineCounts } from '../core/frame-timeline.ts';

/** Text from the network shown inside tagged content: braces would otherwise be read as tags. */
export function escapeTags(text: string): string {
  return text.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

export function popLines(rtts: readonly PopRtt[], chosen: string | null): string[] {
  const width = Math.max(4, ...rtts.map((r) => r.name.length));
  return rtts.map((r) => {
    const mark = r.address === chosen ? '{green-fg}▶{/green-fg}' : ' ';
    const rtt = r.rttMs === null ? '{red-fg}no answer{/red-fg}' : `${r.rttMs.toFixed(2)} ms`;
    const line = `${mark} ${escapeTags(r.name.padEnd(width))} ${escapeTags(r.address.padEnd(15))} ${rtt}`;
    return r.address === chosen ? `{bold}${line}{/bold}` : line;
  });
}

/** What the player shows besides the session's own counters. */
export interface ViewCounters {
  /** Frames drawn in the terminal. */
  readonly shown: number;
  /** Frames replaced by a newer one before they could be drawn. */
  readonly skipped: number;
  /** Whether playback reports go to the POP (its GET /viewers); shown when true. */
  readonly reporting?: boolean;
  /** The movie's timeline over every session (frame-timeline.ts): repeated, skipped, duplicates dropped. */
  readonly timeline?: TimelineCounts;
}

export function statsLines(s: SessionStats | null, view: ViewCounters): string[] {
  if (s === null) return ['state     {bold}init{/bold}', '', 'press {bold}s{/bold} to SETUP'];
  const total = s.packetsReceived + s.packetsLost;
  const lossPct = total === 0 ? 0 : (100 * s.packetsLost) / total;
  return [
    // On the state line: the panel has no room for another.
    `state     {bold}${s.state}{/bold}${view.reporting === true ? '  {gray-fg}stats to POP{/gray-fg}' : ''}`,
    `frames    ${s.framesReceived}`,
    `shown     ${view.shown} (skipped ${view.skipped})`,
    ...(view.timeline === undefined ? [] : [timelineText(view.timeline)]),
    `lost      ${s.framesLost} frames`,
    `signed    ${signedText(s)}`,
    `fps       ${s.fps}`,
    `bitrate   ${s.bitrateKbps} kbit/s`,
    `packets   ${s.packetsReceived}, lost ${s.packetsLost} (${lossPct.toFixed(1)} %)`,
    `jitter    ${s.jitterMs.toFixed(2)} ms`,
    `startup   ${s.startupMs === null ? '—' : `${s.startupMs.toFixed(1)} ms`}`,
  ];
}

/** Frames shown twice (red: never expected) and the timeline's jumps; duplicates dropped in grey. */
function timelineText(t: TimelineCounts): string {
  const repeated = `${t.framesRepeated} repeated`;
  return [
    `timeline  ${t.framesRepeated === 0 ? repeated : `{red-fg}${repeated}{/red-fg}`}`,
    `${t.framesSkipped} skipped`,
    `{gray-fg}${t.framesDuplicate} dup{/gray-fg}`,
  ].join(', ');
}

/** Whether frames are checked against the servers' keys, and how many failed. */
function signedText(s: SessionStats): string {
  if (!s.verifying) return '{red-fg}NOT CHECKED: no server keys{/red-fg}';
  return s.framesRejected === 0 ? 'every frame checked' : `{red-fg}${s.framesRejected} frames rejected{/red-fg}`;
}

export function movieLine(m: MovieInfo): string {
  const seconds = m.fps > 0 ? ` (${(m.frames / m.fps).toFixed(1)} s)` : '';
  return `${m.name}  ${m.width}x${m.height}  ${m.fps} fps  ${m.frames} frames${seconds}`;
}

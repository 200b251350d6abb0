/**
 * The player's screen: the video on the left with the control buttons under it, the POPs, the
 * live statistics and the keys on the right, one status line at the bottom.
 *
 *   ┌ movie ─────────────────────────┐┌ POPs ─────────────┐
 *   │                                ││ ▶ o5 … 0.31 ms    │
 *   │          (half blocks)         │└───────────────────┘
 *   │                                │┌ statistics ───────┐
 *   └────────────────────────────────┘│ …                 │
 *   ┌────────────────────────────────┐└───────────────────┘
 *   │ SETUP  PLAY  PAUSE  TEARDOWN   │┌ keys ─────────────┐
 *   └────────────────────────────────┘└───────────────────┘
 *   status line
 */
import blessed from 'blessed';
import { VideoView } from './video-view.ts';

export type Control = 'setup' | 'play' | 'pause' | 'teardown';

export const CONTROLS: readonly { readonly control: Control; readonly label: string }[] = [
  { control: 'setup', label: 'SETUP [s]' },
  { control: 'play', label: 'PLAY [p]' },
  { control: 'pause', label: 'PAUSE [a]' },
  { control: 'teardown', label: 'TEARDOWN [t]' },
];

const SIDE_WIDTH = 44;
const STATS_HEIGHT = 13;

export interface PlayerLayout {
  readonly screen: blessed.Widgets.Screen;
  readonly video: VideoView;
  readonly pops: blessed.Widgets.BoxElement;
  readonly stats: blessed.Widgets.BoxElement;
  readonly buttons: ReadonlyMap<Control, blessed.Widgets.ButtonElement>;
  readonly status: blessed.Widgets.BoxElement;
}

/** Unicode box lines rather than the terminal's line-drawing charset: the video needs UTF-8 anyway. */
export function createScreen(): blessed.Widgets.Screen {
  return blessed.screen({ smartCSR: true, title: 'oclient', warnings: false, autoPadding: true, forceUnicode: true });
}

export function createLayout(screen: blessed.Widgets.Screen, popCount: number): PlayerLayout {
  const video = new VideoView({
    parent: screen,
    top: 0,
    left: 0,
    width: `100%-${SIDE_WIDTH}`,
    height: '100%-4',
    border: { type: 'line' },
    label: ' oclient ',
    style: { border: { fg: 'cyan' } },
  });
  const controls = blessed.box({
    parent: screen,
    top: '100%-4',
    left: 0,
    width: `100%-${SIDE_WIDTH}`,
    height: 3,
    border: { type: 'line' },
    style: { border: { fg: 'cyan' } },
  });
  const buttons = new Map<Control, blessed.Widgets.ButtonElement>();
  let left = 1;
  for (const { control, label } of CONTROLS) {
    buttons.set(
      control,
      blessed.button({
        parent: controls,
        top: 0,
        left,
        height: 1,
        width: label.length + 2,
        content: ` ${label} `,
        mouse: true,
        style: { fg: 'white', bg: 'blue', hover: { bg: 'cyan', fg: 'black' } },
      }),
    );
    left += label.length + 4;
  }
  const popsHeight = Math.min(12, popCount + 3);
  const pops = blessed.box({
    parent: screen,
    top: 0,
    left: `100%-${SIDE_WIDTH}`,
    width: SIDE_WIDTH,
    height: popsHeight,
    border: { type: 'line' },
    label: ' POPs (RTT) ',
    tags: true,
    style: { border: { fg: 'cyan' } },
  });
  const stats = blessed.box({
    parent: screen,
    top: popsHeight,
    left: `100%-${SIDE_WIDTH}`,
    width: SIDE_WIDTH,
    height: STATS_HEIGHT,
    border: { type: 'line' },
    label: ' statistics ',
    tags: true,
    style: { border: { fg: 'cyan' } },
  });
  blessed.box({
    parent: screen,
    top: popsHeight + STATS_HEIGHT,
    left: `100%-${SIDE_WIDTH}`,
    width: SIDE_WIDTH,
    height: `100%-${popsHeight + STATS_HEIGHT + 1}`,
    border: { type: 'line' },
    label: ' keys ',
    tags: true,
    style: { border: { fg: 'cyan' } },
    content: [
      '{bold}s{/bold} SETUP     {bold}p{/bold} PLAY      {bold}a{/bold} PAUSE',
      '{bold}space{/bold} play/pause  {bold}t{/bold} TEARDOWN',
      '{bold}m{/bold} another movie   {bold}q{/bold} quit',
    ].join('\n'),
  });
  const status = blessed.box({ parent: screen, bottom: 0, left: 0, width: '100%', height: 1, tags: true });
  return { screen, video, pops, stats, buttons, status };
}

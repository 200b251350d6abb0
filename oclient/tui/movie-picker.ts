/** The movie list shown when no --movie was given: arrows or the mouse, Enter or a click picks. */
import blessed from 'blessed';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import { movieLine } from './panel-text.ts';
import { createScreen } from './player-layout.ts';

/**
 * Resolves with the chosen movie's name, or null when the user backs out (Esc, q, Ctrl-C);
 * `backOut` says in the list's title what backing out does.
 */
export function pickMovie(
  screen: blessed.Widgets.Screen,
  catalogue: readonly MovieInfo[],
  backOut: 'quit' | 'go back' = 'quit',
): Promise<string | null> {
  const items = catalogue.map(movieLine);
  const list = blessed.list({
    parent: screen,
    label: ` choose a movie (Enter plays, q to ${backOut}) `,
    top: 'center',
    left: 'center',
    width: Math.min(90, Math.max(40, ...items.map((i) => i.length + 6))),
    height: Math.min(catalogue.length + 2, 20),
    border: { type: 'line' },
    keys: true,
    vi: true,
    mouse: true,
    tags: false,
    items,
    style: { border: { fg: 'cyan' }, selected: { bg: 'blue', fg: 'white', bold: true }, item: { fg: 'white' } },
  });
  list.focus();
  screen.render();
  return new Promise((resolve) => {
    const done = (name: string | null): void => {
      list.destroy();
      screen.render();
      resolve(name);
    };
    list.on('select', (_item, index) => done(catalogue[index]?.name ?? null));
    list.key(['escape', 'q', 'C-c'], () => done(null));
  });
}

/** The picker on a screen of its own, torn down (terminal restored) before this resolves. */
export async function pickMovieOnce(catalogue: readonly MovieInfo[]): Promise<string | null> {
  const screen = createScreen();
  try {
    return await pickMovie(screen, catalogue);
  } finally {
    screen.destroy();
  }
}

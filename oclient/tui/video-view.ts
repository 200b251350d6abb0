/**
 * The video box: decodes a frame, scales it to the box in half-block cells and paints those
 * cells straight into blessed's screen buffer after the box has drawn its border (as blessed's
 * own ANSIImage does), so a frame costs no tag parsing. blessed diffs the buffer against the
 * terminal, so only the cells that changed are written.
 */
import blessed from 'blessed';
import jpeg from 'jpeg-js';
import { buildJpeg, type JpegImage } from '../../common/media/jpeg.ts';
import type { RgbaImage } from '../../common/media/rgba-image.ts';
import { HALF_BLOCK, toHalfBlocks, type HalfBlockFrame } from '../core/halfblock.ts';
import { rgbToXterm256 } from './xterm-colors.ts';

/** blessed's cell attribute: flags << 18 | fg << 9 | bg, with 0x1ff meaning the default colour. */
const DEFAULT_COLOUR = 0x1ff;

/** The parts of blessed's internals the painter touches (not in @types/blessed). */
type Cell = [number, string];
type Line = Cell[] & { dirty?: boolean };
interface Coords {
  xi: number;
  xl: number;
  yi: number;
  yl: number;
}
interface Internals {
  render(): Coords | undefined;
  ileft: number;
  iright: number;
  itop: number;
  ibottom: number;
  screen: { lines: Line[] };
}

export class VideoView {
  readonly box: blessed.Widgets.BoxElement;
  /** Frames that jpeg-js could not decode. */
  undecodable = 0;
  private frame: HalfBlockFrame | null = null;
  /** Kept so a resized box can rescale the picture while paused. */
  private rgba: RgbaImage | null = null;
  private fittedTo = '';

  constructor(options: blessed.Widgets.BoxOptions) {
    this.box = blessed.box({ ...options, tags: true });
    const internals = this.box as unknown as Internals;
    const render = internals.render.bind(this.box);
    internals.render = () => {
      const coords = render();
      if (coords && this.rgba && this.fittedTo !== this.innerKey()) this.fit(this.rgba);
      if (coords && this.frame) paint(this.frame, internals, coords);
      return coords;
    };
  }

  /** Cells available for the picture inside the border. */
  get inner(): { cols: number; rows: number } {
    const b = this.box as unknown as Internals;
    const width = typeof this.box.width === 'number' ? this.box.width : 0;
    const height = typeof this.box.height === 'number' ? this.box.height : 0;
    return { cols: Math.max(0, width - b.ileft - b.iright), rows: Math.max(0, height - b.itop - b.ibottom) };
  }

  /** Decodes and scales one frame; the next screen.render() shows it. False when it would not decode. */
  showJpeg(image: JpegImage): boolean {
    let rgba: RgbaImage;
    try {
      rgba = jpeg.decode(buildJpeg(image), { useTArray: true, formatAsRGBA: true });
    } catch {
      this.undecodable++;
      return false;
    }
    this.showRgba(rgba);
    return true;
  }

  showRgba(rgba: RgbaImage): void {
    this.fit(rgba);
    this.box.setContent('');
  }

  /** Removes the picture and shows a line of text in its place. */
  showMessage(text: string): void {
    this.frame = this.rgba = null;
    this.box.setContent(`{center}${text}{/center}`);
  }

  private fit(rgba: RgbaImage): void {
    const { cols, rows } = this.inner;
    this.rgba = rgba;
    this.frame = toHalfBlocks(rgba, cols, rows);
    this.fittedTo = this.innerKey();
  }

  private innerKey(): string {
    const { cols, rows } = this.inner;
    return `${cols}x${rows}`;
  }
}

function paint(frame: HalfBlockFrame, el: Internals, c: Coords): void {
  const lines = el.screen.lines;
  const xi = c.xi + el.ileft;
  const xl = c.xl - el.iright;
  const yi = c.yi + el.itop;
  const yl = c.yl - el.ibottom;
  const left = xi + Math.max(0, Math.floor((xl - xi - frame.cols) / 2));
  const top = yi + Math.max(0, Math.floor((yl - yi - frame.rows) / 2));
  frame.cells.forEach((row, r) => {
    const y = top + r;
    const line = lines[y];
    if (line === undefined || y >= yl) return;
    row.forEach((cell, col) => {
      const x = left + col;
      if (x >= xl || line[x] === undefined) return;
      const bg = cell.bg === null ? DEFAULT_COLOUR : rgbToXterm256(cell.bg);
      line[x] = [(rgbToXterm256(cell.fg) << 9) | bg, HALF_BLOCK];
    });
    line.dirty = true;
  });
}

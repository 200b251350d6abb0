/**
 * What it costs a node to drop an overlay datagram it must not act on: a replayed genuine
 * control datagram (the tag checks out) is dropped after the tag and the replay window, before
 * its body is parsed. Prints µs per datagram for the tag check alone and for tag plus body
 * parsing (what a replay cost before the transport checked the window first), for the largest
 * control datagram (a full catalogue part) and a small one (a LEAVE).
 *
 *   npx tsx bench/overlay/drop-cost.ts      (or node dist/bench/overlay/drop-cost.js)
 */
import { randomBytes } from 'node:crypto';
import { catalogueParts } from '../../common/wire/control-split.ts';
import { macKey, sealOverlay, verify } from '../../common/wire/overlay-auth.ts';
import { decodeBody, decodeHeader, type OverlayMessage } from '../../common/wire/overlay.ts';
import { say } from '../common/report.ts';

const ROUNDS = 20_000;
const key = macKey(randomBytes(32));

/** µs per call of `fn`, the best of five timed rounds (after a warm-up). */
function perCall(fn: () => void): number {
  for (let i = 0; i < ROUNDS; i++) fn();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ROUNDS; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1000 / ROUNDS);
  }
  return best;
}

function measure(label: string, msg: OverlayMessage): void {
  const datagram = sealOverlay(key, 'o4', 'o5', { epoch: 1, counter: 1 }, msg);
  const header = decodeHeader(datagram);
  if (!header.ok) throw new Error('the sample does not decode');
  const tagOnly = perCall(() => {
    if (!verify(key, 'o5', datagram)) throw new Error('tag');
  });
  const tagAndBody = perCall(() => {
    if (!verify(key, 'o5', datagram) || !decodeBody(datagram, header.value).ok) throw new Error('body');
  });
  say(
    `${label} (${datagram.length} B): tag ${tagOnly.toFixed(1)} µs; tag + body ${tagAndBody.toFixed(1)} µs ` +
      `(${(tagAndBody / tagOnly).toFixed(1)}x); drops per second of one core: ` +
      `${Math.round(1e6 / tagOnly).toLocaleString('en')} vs ${Math.round(1e6 / tagAndBody).toLocaleString('en')}`,
  );
}

const movies = Array.from({ length: 200 }, (_, i) => ({
  name: `movie-${String(i).padStart(4, '0')}.mjpeg`,
  fps: 25,
  width: 320,
  height: 240,
  frames: 500,
}));
const part = catalogueParts('s1', 7, movies)[0];
if (part === undefined) throw new Error('no catalogue part');
say('dropping a replayed genuine control datagram:');
measure('  catalogue part', part);
measure('  leave', { type: 'leave', movie: 'bars.mjpeg' });

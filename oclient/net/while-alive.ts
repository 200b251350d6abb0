/** Waiting for a POP's answer while pinging it: a POP that stops answering pings is given up early. */
import { SystemClock } from '../../common/core/clock.ts';
import { SilenceWatch } from '../core/silence-watch.ts';
import { PopPinger } from './pop-pinger.ts';
import type { RtspClient } from './rtsp-client.ts';

export interface PopLiveness {
  /** The POP's overlay port (where it answers pings). */
  readonly overlayPort: number;
  readonly silentMs: number;
  /** The POP answered the RTT probe: its silence counts from the first ping (else from its first pong). */
  readonly answersPings: boolean;
}

/** Waits for `answer`, giving up on the POP (the client's requests fail) if it stops answering pings meanwhile. */
export async function whileAlive<T>(
  w: {
    readonly client: RtspClient;
    readonly pop: string;
    readonly liveness: PopLiveness | undefined;
    readonly localAddress: string | undefined;
  },
  method: string,
  answer: Promise<T>,
): Promise<T> {
  const l = w.liveness;
  if (l === undefined) return answer;
  const watch = new SilenceWatch(new SystemClock(), l.silentMs, (ms) =>
    w.client.abort(`${w.pop} answered no ping for ${Math.round(ms)} ms while ${method} waited`),
  );
  const heard = (): void => {
    watch.heard();
    watch.start();
  };
  const pinger = new PopPinger(w.pop, l.overlayPort, heard, w.localAddress);
  if (l.answersPings) watch.start();
  pinger.start();
  try {
    return await answer;
  } finally {
    watch.stop();
    pinger.stop();
  }
}

import { describe, expect, it } from 'vitest';
import { Lifecycle, StartAbortedError, type StartContext } from '../../../common/core/lifecycle.ts';

/** A start-up that opens named resources, each after a tick, recording opens and releases. */
function fixture(opts: { failAt?: string; gate?: Promise<void> } = {}) {
  const log: string[] = [];
  let startUps = 0;
  const life = new Lifecycle(async (ctx: StartContext) => {
    startUps++;
    for (const name of ['a', 'b', 'c']) {
      await Promise.resolve();
      if (name === 'b' && opts.gate) await opts.gate;
      if (name === opts.failAt) throw new Error(`cannot open ${name}`);
      log.push(`open ${name}`);
      ctx.defer(() => {
        log.push(`close ${name}`);
      });
    }
  });
  return { life, log, startUps: () => startUps };
}

describe('Lifecycle', () => {
  it('concurrent starts run the start-up once; stop releases last-first; stop twice releases once', async () => {
    const f = fixture();
    const p1 = f.life.start();
    const p2 = f.life.start();
    expect(p2).toBe(p1);
    expect(f.life.state).toBe('starting');
    await Promise.all([p1, p2]);
    await f.life.start();
    expect(f.startUps()).toBe(1);
    expect(f.life.state).toBe('started');
    await Promise.all([f.life.stop(), f.life.stop()]);
    await f.life.stop();
    expect(f.log).toEqual(['open a', 'open b', 'open c', 'close c', 'close b', 'close a']);
    expect(f.life.state).toBe('stopped');
  });

  it('a failed start releases what it opened, last-first, and rethrows; a later stop does nothing', async () => {
    const f = fixture({ failAt: 'c' });
    await expect(f.life.start()).rejects.toThrow('cannot open c');
    expect(f.log).toEqual(['open a', 'open b', 'close b', 'close a']);
    expect(f.life.state).toBe('stopped');
    await f.life.stop();
    expect(f.log).toHaveLength(4);
  });

  it('stop during start aborts the start-up, waits for it, and leaves nothing open', async () => {
    let openGate = (): void => {};
    const gate = new Promise<void>((r) => {
      openGate = r;
    });
    const f = fixture({ gate });
    const started = f.life.start();
    await Promise.resolve();
    const stopped = f.life.stop();
    expect(f.life.state).toBe('stopping');
    openGate();
    await expect(started).rejects.toBeInstanceOf(StartAbortedError);
    await stopped;
    expect(f.log).toEqual(['open a', 'open b', 'open c', 'close c', 'close b', 'close a']);
    expect(f.life.state).toBe('stopped');
  });

  it('start after stop starts again, after the stop has released everything', async () => {
    const f = fixture();
    await f.life.start();
    const stopped = f.life.stop();
    const again = f.life.start();
    await Promise.all([stopped, again]);
    expect(f.startUps()).toBe(2);
    expect(f.life.state).toBe('started');
    expect(f.log.slice(3, 6)).toEqual(['close c', 'close b', 'close a']);
    await f.life.stop();
  });

  it('every release runs even when one fails; stop then rejects with the first failure', async () => {
    const closed: string[] = [];
    const life = new Lifecycle(async (ctx) => {
      ctx.defer(() => {
        closed.push('a');
      });
      ctx.defer(() => {
        throw new Error('b would not close');
      });
      ctx.defer(async () => {
        closed.push('c');
      });
    });
    await life.start();
    await expect(life.stop()).rejects.toThrow('b would not close');
    expect(closed).toEqual(['c', 'a']);
    expect(life.state).toBe('stopped');
  });
});

import { describe, expect, it } from 'vitest';
import { MAX_LISTENERS_PER_EVENT, TooManyListenersError, TypedEmitter } from '../../../common/core/typed-emitter.ts';

interface Events {
  packet: [from: string, size: number];
  close: [];
}

describe('TypedEmitter', () => {
  it('calls every listener in the order added, with the arguments', () => {
    const e = new TypedEmitter<Events>();
    const seen: string[] = [];
    e.on('packet', (from, size) => seen.push(`a ${from} ${size}`));
    e.on('packet', (from, size) => seen.push(`b ${from} ${size}`));
    expect(e.emit('packet', 'o2', 7)).toBe(true);
    expect(e.emit('close')).toBe(false);
    expect(seen).toEqual(['a o2 7', 'b o2 7']);
  });

  it('a listener that throws is counted and reported; the others still run and emit does not throw', () => {
    const errors: [unknown, string][] = [];
    const e = new TypedEmitter<Events>((err, event) => errors.push([err, event]));
    let after = 0;
    e.on('close', () => {
      throw new Error('boom');
    });
    e.on('close', () => after++);
    expect(() => e.emit('close')).not.toThrow();
    expect(() => e.emit('close')).not.toThrow();
    expect(after).toBe(2);
    expect(e.listenerErrors).toBe(2);
    expect(errors.map(([err, event]) => `${event}: ${(err as Error).message}`)).toEqual(['close: boom', 'close: boom']);
  });

  it('an error hook that throws does not reach the emitter either', () => {
    const e = new TypedEmitter<Events>(() => {
      throw new Error('hook');
    });
    e.on('close', () => {
      throw new Error('listener');
    });
    expect(() => e.emit('close')).not.toThrow();
    expect(e.listenerErrors).toBe(1);
  });

  it('off and the returned function remove a listener; once runs a listener one time', () => {
    const e = new TypedEmitter<Events>();
    const calls: string[] = [];
    const a = (): void => {
      calls.push('a');
    };
    e.on('close', a);
    const offB = e.on('close', () => calls.push('b'));
    e.once('close', () => calls.push('once'));
    e.emit('close');
    e.off('close', a);
    offB();
    e.emit('close');
    expect(calls).toEqual(['a', 'b', 'once']);
    expect(e.listenerCount('close')).toBe(0);
  });

  it('a listener removed or added during an emit does not change that emit', () => {
    const e = new TypedEmitter<Events>();
    const calls: string[] = [];
    const offSecond = (): void => offB();
    e.on('close', () => {
      calls.push('a');
      offSecond();
      e.on('close', () => calls.push('late'));
    });
    const offB = e.on('close', () => calls.push('b'));
    e.emit('close');
    expect(calls).toEqual(['a', 'b']);
    calls.length = 0;
    e.emit('close');
    expect(calls).toEqual(['a', 'late']);
  });

  it('refuses listeners past the limit', () => {
    const e = new TypedEmitter<Events>();
    for (let i = 0; i < MAX_LISTENERS_PER_EVENT; i++) e.on('close', () => {});
    expect(() => e.on('close', () => {})).toThrow(TooManyListenersError);
    expect(e.listenerCount('close')).toBe(MAX_LISTENERS_PER_EVENT);
  });
});

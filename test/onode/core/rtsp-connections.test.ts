import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../common/core/clock.ts';
import {
  type ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
  IDLE_TIMEOUT_MS,
  MAX_CONNECTIONS_PER_ADDRESS,
  RtspConnections,
} from '../../../onode/core/rtsp-connections.ts';

function harness(limits: Partial<ConnectionLimits> = {}) {
  const clock = new VirtualClock();
  const withSessions = new Set<number>();
  const closed: number[] = [];
  const table = new RtspConnections(
    {
      clock,
      hasSessions: (id) => withSessions.has(id),
      close: (id) => closed.push(id),
    },
    { ...DEFAULT_CONNECTION_LIMITS, ...limits },
  );
  table.start();
  return { clock, withSessions, closed, table };
}

describe('RtspConnections', () => {
  it('caps connections per client address, and frees the slot when one closes', () => {
    const h = harness();
    for (let id = 1; id <= MAX_CONNECTIONS_PER_ADDRESS; id++) {
      expect(h.table.admit(id, '127.0.99.1')).toEqual({ ok: true });
    }
    expect(h.table.admit(100, '127.0.99.1')).toEqual({ ok: false, reason: 'per-address' });
    expect(h.table.admit(101, '127.0.99.2')).toEqual({ ok: true });
    h.table.closed(3);
    h.table.closed(3); // twice is harmless
    expect(h.table.admit(102, '127.0.99.1')).toEqual({ ok: true });
    expect(h.table.admit(103, '127.0.99.1')).toEqual({ ok: false, reason: 'per-address' });
    expect(h.table.counters).toMatchObject({ refusedPerAddress: 2, accepted: MAX_CONNECTIONS_PER_ADDRESS + 2 });
  });

  it('makes room in a full table by closing the longest-idle connection without a session', () => {
    const h = harness({ total: 4 });
    for (let id = 1; id <= 4; id++) {
      h.table.admit(id, `127.0.99.${id}`);
      h.clock.advance(10);
    }
    h.withSessions.add(1);
    h.table.active(2); // 2 just sent a request: 3 is now the longest idle
    expect(h.table.admit(5, '127.0.99.5')).toEqual({ ok: true });
    expect(h.closed).toEqual([3]);
    expect(h.table.size).toBe(4);
    h.withSessions.add(2).add(4).add(5);
    expect(h.table.admit(6, '127.0.99.6')).toEqual({ ok: false, reason: 'total' });
    expect(h.table.counters).toMatchObject({ evicted: 1, refusedTotal: 1 });
  });

  it('closes connections without a session after the idle timeout, and keeps those with one', () => {
    const h = harness();
    h.table.admit(1, '127.0.99.1');
    h.table.admit(2, '127.0.99.1');
    h.table.admit(3, '127.0.99.1');
    h.withSessions.add(2);
    for (let t = 0; t < IDLE_TIMEOUT_MS - 2000; t += 1000) {
      h.clock.advance(1000);
      if (t % 5000 === 0) h.table.active(3);
    }
    expect(h.closed).toEqual([]);
    h.clock.advance(2000);
    expect(h.closed).toEqual([1]);
    h.clock.advance(IDLE_TIMEOUT_MS);
    expect(h.closed).toEqual([1, 3]);
    expect(h.table.size).toBe(1);
    // When its session ends, the connection is idle too.
    h.withSessions.delete(2);
    h.clock.advance(1000);
    expect(h.closed).toEqual([1, 3, 2]);
    expect(h.table.counters.idleClosed).toBe(3);
  });

  it('stops sweeping after stop()', () => {
    const h = harness({ idleTimeoutMs: 1000 });
    h.table.admit(1, '127.0.99.1');
    h.table.stop();
    h.clock.advance(10_000);
    expect(h.closed).toEqual([]);
    expect(h.clock.pending()).toBe(0);
  });
});

/** A node's view of its neighbours from several bootstrappers: lost only when no connected one holds it up. */
import { describe, expect, it } from 'vitest';
import { BootstrapperViews } from '../../../onode/core/bootstrapper-views.ts';

describe('BootstrapperViews', () => {
  it('one bootstrapper: every neighbour-down loses the neighbour, as before', () => {
    const v = new BootstrapperViews();
    v.connected(0, ['a', 'b']);
    expect(v.down(0, 'a')).toEqual(['a']);
    expect(v.down(0, 'c')).toEqual(['c']); // registered after us, gone since: still lost
    expect(v.disconnected(0)).toEqual([]); // the bootstrapper gone says nothing about anyone
  });

  it('two bootstrappers: a neighbour is lost when the second says it went too', () => {
    const v = new BootstrapperViews();
    v.connected(0, ['a']);
    v.connected(1, ['a']);
    expect(v.down(0, 'a')).toEqual([]);
    expect(v.down(1, 'a')).toEqual(['a']);
  });

  it('a neighbour that lost only its connection to one bootstrapper stays up, and up again clears it', () => {
    const v = new BootstrapperViews();
    v.connected(0, ['a']);
    v.connected(1, ['a']);
    expect(v.down(1, 'a')).toEqual([]);
    v.up(1, 'a');
    expect(v.down(0, 'a')).toEqual([]);
  });

  it('a neighbour registered at one bootstrapper only is lost on its word', () => {
    const v = new BootstrapperViews();
    v.connected(0, ['a']);
    v.connected(1, []);
    expect(v.down(0, 'a')).toEqual(['a']);
  });

  it('the dead bootstrapper is a neighbour: lost whichever comes first, its closed connection or the notice', () => {
    // s1 (index 0) is a neighbour and dies; s2 (index 1) tells.
    const noticeFirst = new BootstrapperViews();
    noticeFirst.connected(0, ['s1', 'x']);
    noticeFirst.connected(1, ['s1', 'x']);
    expect(noticeFirst.down(1, 's1')).toEqual([]); // s1's own view still holds itself up
    expect(noticeFirst.disconnected(0)).toEqual(['s1']); // x: s2 still says up
    const closeFirst = new BootstrapperViews();
    closeFirst.connected(0, ['s1', 'x']);
    closeFirst.connected(1, ['s1', 'x']);
    expect(closeFirst.disconnected(0)).toEqual([]);
    expect(closeFirst.down(1, 's1')).toEqual(['s1']);
  });

  it('a bootstrapper gone does not lose neighbours the others never spoke of', () => {
    const v = new BootstrapperViews();
    v.connected(0, ['a', 'b']);
    v.connected(1, ['a']);
    expect(v.disconnected(0)).toEqual([]);
    expect(v.isConnected(0)).toBe(false);
    expect(v.down(0, 'a')).toEqual([]); // a closed bootstrapper's late word is ignored
  });

  it("a re-registration replaces that bootstrapper's view", () => {
    const v = new BootstrapperViews();
    v.connected(0, ['a']);
    v.connected(1, ['a']);
    expect(v.down(1, 'a')).toEqual([]);
    v.connected(1, ['a']);
    expect(v.down(0, 'a')).toEqual([]);
  });
});

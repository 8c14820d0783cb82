import type { ServerEventName } from '@ctos/protocol';
import type { RoomEmitter } from '@ctos/transport';
import { COUNT_HOLD_MS, UnreadCountPushes } from '../src/unread-counts';

/** An emitter that records what it was given, one emit at a time. */
function recorder() {
  const pushed: Array<{ room: string; event: ServerEventName; payload: unknown }> = [];
  const emitter: RoomEmitter = {
    emit: async (room, event, payload) => {
      pushed.push({ room: String(room), event, payload });
      return true;
    },
  };
  return { pushed, emitter };
}

describe('unread count pushes after new messages', () => {
  let clock: number;
  beforeEach(() => {
    clock = 1_000_000;
  });

  it('pushes a user’s count at once when none of their writes is still in flight', async () => {
    const { pushed, emitter } = recorder();
    const counts = new UnreadCountPushes(emitter, () => clock);
    counts.begin(['alice', 'bob']);
    await counts.end(
      ['alice', 'bob'],
      [
        { user: 'alice', count: 3, version: 7 },
        { user: 'bob', count: 1, version: 1 },
      ],
    );
    expect(pushed).toEqual([
      { room: 'user:alice', event: 'message:unread_count', payload: { count: 3, version: 7 } },
      { room: 'user:bob', event: 'message:unread_count', payload: { count: 1, version: 1 } },
    ]);
  });

  it('pushes only the newest count of writes that overlap, once the last of them ends', async () => {
    const { pushed, emitter } = recorder();
    const counts = new UnreadCountPushes(emitter, () => clock);
    counts.begin(['alice']);
    counts.begin(['alice']);
    counts.begin(['alice']);
    // They may end in any order: the newest version wins.
    await counts.end(['alice'], [{ user: 'alice', count: 2, version: 2 }]);
    await counts.end(['alice'], [{ user: 'alice', count: 3, version: 3 }]);
    expect(pushed).toEqual([]);
    await counts.end(['alice'], [{ user: 'alice', count: 1, version: 1 }]);
    expect(pushed.map((push) => push.payload)).toEqual([{ count: 3, version: 3 }]);
  });

  it('holds a count no longer than COUNT_HOLD_MS while the user’s writes keep coming', async () => {
    const { pushed, emitter } = recorder();
    const counts = new UnreadCountPushes(emitter, () => clock);
    counts.begin(['alice']);
    let version = 0;
    for (let step = 0; step * 50 <= COUNT_HOLD_MS; step++) {
      counts.begin(['alice']);
      await counts.end(['alice'], [{ user: 'alice', count: ++version, version }]);
      clock += 50;
    }
    expect(pushed.map((push) => push.payload)).toEqual([{ count: version, version }]);
  });

  it('pushes a count held past COUNT_HOLD_MS with the next write to end, not by itself (no timer)', async () => {
    const { pushed, emitter } = recorder();
    const counts = new UnreadCountPushes(emitter, () => clock);
    counts.begin(['alice']);
    counts.begin(['alice']);
    await counts.end(['alice'], [{ user: 'alice', count: 1, version: 1 }]);
    clock += 10 * COUNT_HOLD_MS;
    expect(pushed).toEqual([]);
    // A write of another user ends: alice's held count goes out with it, late.
    counts.begin(['bob']);
    await counts.end(['bob'], []);
    expect(pushed.map((push) => [push.room, push.payload])).toEqual([['user:alice', { count: 1, version: 1 }]]);
  });

  it('drops a held count that a mark made out of date, and still pushes what a failed write produced', async () => {
    const { pushed, emitter } = recorder();
    const counts = new UnreadCountPushes(emitter, () => clock);
    counts.begin(['alice']);
    counts.begin(['alice']);
    await counts.end(['alice'], [{ user: 'alice', count: 4, version: 4 }]);
    counts.superseded('alice', 5);
    await counts.end(['alice'], []);
    expect(pushed).toEqual([]);
    counts.begin(['alice', 'bob']);
    await counts.end(['alice', 'bob'], [{ user: 'bob', count: 9, version: 9 }]);
    expect(pushed.map((push) => [push.room, push.payload])).toEqual([['user:bob', { count: 9, version: 9 }]]);
  });
});

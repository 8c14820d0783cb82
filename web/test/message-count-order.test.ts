import type {
  ClientEventName,
  ClientPayload,
  Disposable,
  MessageItem,
  ServerEventName,
  ServerToClientEvents,
} from '@ctos/protocol';
import { waitFor, waitForValue } from '@ctos/testkit';
import { MessageFeed } from '../src/messages/message-feed';
import type { AckFor, SocketChannel } from '../src/shell/socket-channel';

/**
 * The page's message feed when an answer (over the bus) arrives after a newer push
 * (through the adapter): it keeps the count of the highest version and relearns the read
 * flags an older answer brought. A fake channel holds each request until the test answers
 * it, so the order is the test's, not the network's. (Compiled without DOM types.)
 */

/** A request the feed sent, waiting for the test's answer. */
interface Pending {
  event: ClientEventName;
  payload: unknown;
  /** Answers it with `{success: true, ...data}`. */
  answer(data: object): void;
}

/** A socket channel whose requests wait for the test and whose server events the test plays. */
class HeldChannel implements SocketChannel {
  connected = true;
  private readonly pending: Pending[] = [];
  private readonly listeners = new Map<ServerEventName, Set<(payload: never) => void>>();

  on<E extends ServerEventName>(event: E, listener: ServerToClientEvents[E]): Disposable {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener);
    this.listeners.set(event, set);
    return { dispose: () => void set.delete(listener) };
  }

  request<E extends ClientEventName>(event: E, payload: ClientPayload<E>): Promise<AckFor<E>> {
    return new Promise((resolve) => {
      this.pending.push({ event, payload, answer: (data) => resolve({ success: true, ...data } as AckFor<E>) });
    });
  }

  /** Plays a server event to every listener. */
  emit<E extends ServerEventName>(event: E, payload: Parameters<ServerToClientEvents[E]>[0]): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as (value: typeof payload) => void)(payload);
  }

  /** Waits for the feed's next request of `event` and takes it. */
  async next(event: ClientEventName): Promise<Pending> {
    const found = await waitForValue(() => this.pending.find((request) => request.event === event), {
      message: `the feed to send ${event}`,
    });
    this.pending.splice(this.pending.indexOf(found), 1);
    return found;
  }
}

function item(id: number, read: boolean): MessageItem {
  return {
    id,
    severity: 'info',
    source: 'tests',
    category: 'general',
    title: `m${id}`,
    content: '',
    created_at: '2026-11-29T10:00:00.000Z',
    read,
  };
}

/** `[id, read]` of what the feed holds, newest first. */
const flags = (feed: MessageFeed) => feed.messages().map((m) => [m.id, m.read]);

let channel: HeldChannel;
let feed: MessageFeed;

beforeEach(() => {
  channel = new HeldChannel();
  feed = new MessageFeed(channel);
});
afterEach(() => feed.dispose());

/** Connects the feed: answers its first list with `listed` (version 1), and returns its catch-up sync, held. */
async function connectHoldingSync(listed: MessageItem[]): Promise<{ sync: Pending; connecting: Promise<boolean> }> {
  const connecting = feed.connected();
  const unread = listed.filter((m) => !m.read).length;
  (await channel.next('message:list')).answer({ messages: listed, unread_count: unread, has_more: false, version: 1 });
  return { sync: await channel.next('message:sync'), connecting };
}

test('a catch-up answer overtaken by a newer count push leaves the push’s count', async () => {
  const { sync, connecting } = await connectHoldingSync([item(1, false)]);
  // Another tab marks 1 read after the answer was read (count 1, version 1).
  channel.emit('message:unread_count', { count: 0, read: { message_id: 1 }, version: 2 });
  sync.answer({ messages: [], unread_count: 1, has_more: false, latest_id: 1, version: 1 });
  await expect(connecting).resolves.toBe(true);
  expect(feed.unread).toBe(0);
  expect(flags(feed)).toEqual([[1, true]]);
});

test('a message an overtaken answer brings unread is relearnt as read', async () => {
  const { sync, connecting } = await connectHoldingSync([item(1, false)]);
  // The mark of 2 arrives before the answer that brings 2: there is nothing to mark yet.
  channel.emit('message:unread_count', { count: 1, read: { message_id: 2 }, version: 3 });
  sync.answer({ messages: [item(2, false)], unread_count: 2, has_more: false, latest_id: 2, version: 2 });
  await connecting;
  expect(feed.unread).toBe(1);
  const refresh = await channel.next('message:list');
  refresh.answer({ messages: [item(2, true), item(1, false)], unread_count: 1, has_more: false, version: 3 });
  await waitFor(() => feed.messages()[0]?.read === true, { message: 'the feed to relearn that 2 is read' });
  expect(flags(feed)).toEqual([
    [2, true],
    [1, false],
  ]);
  expect(feed.unread).toBe(1);
});

test('a mark’s answer overtaken by a newer message keeps the newer count', async () => {
  const { sync, connecting } = await connectHoldingSync([item(1, false)]);
  sync.answer({ messages: [], unread_count: 1, has_more: false, latest_id: 1, version: 1 });
  await connecting;
  const marking = feed.markRead(1);
  const read = await channel.next('message:read');
  channel.emit('message:unread_count', { count: 0, read: { message_id: 1 }, version: 2 });
  channel.emit('message:new', item(2, false));
  channel.emit('message:unread_count', { count: 1, version: 3 });
  read.answer({ unread_count: 0, version: 2 });
  await expect(marking).resolves.toBeUndefined();
  expect(feed.unread).toBe(1);
  expect(flags(feed)).toEqual([
    [2, false],
    [1, true],
  ]);
});

test('counts without a version (an older server) are taken as they arrive', async () => {
  const connecting = feed.connected();
  (await channel.next('message:list')).answer({ messages: [item(1, false)], unread_count: 1, has_more: false });
  channel.emit('message:unread_count', { count: 0, read: { message_id: 1 } });
  (await channel.next('message:sync')).answer({ messages: [], unread_count: 0, has_more: false, latest_id: 1 });
  await connecting;
  expect(feed.unread).toBe(0);
  channel.emit('message:new', item(2, false));
  channel.emit('message:unread_count', { count: 1 });
  expect(feed.unread).toBe(1);
});

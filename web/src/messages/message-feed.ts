import { DisposableStore, type Disposable, type MessageItem, type MessageVersion } from '@ctos/protocol';
import type { SocketChannel } from '../shell/socket-channel';

/** Messages asked for per page: enough to fill the centre twice. */
const PAGE_SIZE = 50;
/**
 * After a `message:new`, wait this long (ms) for the server's `message:unread_count`;
 * without one, ask for the count (`message:sync`), so the badge is right either way.
 */
const COUNT_RECONCILE_MS = 400;
/** At most this many catch-up pages per reconnect (50 × 40 = 2,000 messages); the rest load on demand. */
const MAX_SYNC_PAGES = 40;
/**
 * A catch-up after `connection:resync` that the server could not answer yet (Redis is
 * coming back) is tried again after this long (ms), doubling up to the maximum.
 */
const CATCH_UP_RETRY_MS = 1000;
const CATCH_UP_RETRY_MAX_MS = 10_000;

/** How new messages reached the store: live (`message:new`) or caught up after a reconnect. */
export type Arrival = 'live' | 'caught-up';

/** What a store change tells its listeners. */
export interface StoreChange {
  /** Messages not seen before, oldest first. */
  added: MessageItem[];
  arrival: Arrival;
}

/**
 * The user's messages as this tab knows them: the newest page, live `message:new`
 * events, and on every (re)connect — or `connection:resync`, when the connection stayed
 * up but events for it may have been lost — a `message:sync` from the last id it has, so
 * a tab that missed events catches up whether or not it had received any before (P18).
 * Ids are ordered per user, so duplicates are dropped by id. The unread count is the
 * server's (`message:unread_count`, acks), shared by all the user's tabs. Pushes and
 * answers take different paths, so an answer can arrive after a newer push: the count is
 * the one of the highest version heard (`MessageVersion`), and the read flags an older
 * answer brought are relearnt. Written against {@link SocketChannel}, so it runs in Node.
 */
export class MessageFeed {
  private readonly items = new Map<number, MessageItem>();
  private unreadNow = 0;
  /** The version {@link unreadNow} is of: the highest heard (0 before any). */
  private version: MessageVersion = 0;
  private lastId = 0;
  private listed = false;
  private hasOlder = false;
  private reconcileTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private catchUpTimer: ReturnType<typeof setTimeout> | undefined;
  private catchUpDelay = CATCH_UP_RETRY_MS;
  private readonly listeners = new Set<(change: StoreChange) => void>();
  /** The socket listeners and the timers, released by {@link dispose}. */
  private readonly owned = new DisposableStore();

  constructor(private readonly channel: SocketChannel) {
    const owned = this.owned;
    owned.add(
      channel.on('message:new', (item) => {
        const added = this.add([item]);
        if (added.length === 0) return;
        // The server follows with `message:unread_count`; if that is lost, ask for the count.
        if (!item.read) this.scheduleReconcile();
        this.emit({ added, arrival: 'live' });
      }),
    );
    owned.add(
      channel.on('message:unread_count', ({ count, read, version }) => {
        clearTimeout(this.reconcileTimer);
        // Read state only ever goes unread → read: a mark is true whatever its version.
        if (read) this.applyRead(read);
        this.takeCount(count, version);
      }),
    );
    owned.add(channel.on('connection:resync', () => void this.catchUp()));
    owned.defer(() => clearTimeout(this.reconcileTimer));
    owned.defer(() => clearTimeout(this.refreshTimer));
    owned.defer(() => clearTimeout(this.catchUpTimer));
  }

  /** The unread count, as the server last said. */
  get unread(): number {
    return this.unreadNow;
  }

  /** Whether older messages than the loaded ones exist. */
  get moreOlder(): boolean {
    return this.hasOlder;
  }

  /** Loaded messages, newest first. */
  messages(): MessageItem[] {
    return [...this.items.values()].sort((a, b) => b.id - a.id);
  }

  /** Calls `listener` on every change, until the returned disposable is disposed. */
  subscribe(listener: (change: StoreChange) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  }

  /**
   * On every (re)connect: the newest page once, then everything after the last id held.
   * @returns false when the server did not answer every request (retried on the next connect).
   */
  async connected(): Promise<boolean> {
    if (!this.listed) {
      const page = await this.channel.request('message:list', { limit: PAGE_SIZE });
      if (!page.success) return false; // retried on the next connect; the badge keeps its last value
      this.listed = true;
      this.hasOlder = page.has_more;
      const added = this.add(page.messages);
      this.takeCount(page.unread_count, page.version, added);
      if (added.length > 0) this.emit({ added: [], arrival: 'caught-up' });
    }
    const caughtUp: MessageItem[] = [];
    let answered = true;
    for (let page = 0; page < MAX_SYNC_PAGES; page++) {
      const response = await this.channel.request('message:sync', { since: this.lastId, limit: PAGE_SIZE });
      if (!response.success) {
        answered = false;
        break;
      }
      const added = this.add(response.messages);
      caughtUp.push(...added);
      this.takeCount(response.unread_count, response.version, added);
      if (!response.has_more || response.messages.length === 0) break;
    }
    if (caughtUp.length > 0) this.emit({ added: caughtUp, arrival: 'caught-up' });
    return answered;
  }

  /**
   * After `connection:resync`: what {@link connected} does, tried again with backoff while
   * the server cannot answer yet and the socket stays connected (a reconnect does it anyway).
   */
  private async catchUp(): Promise<void> {
    clearTimeout(this.catchUpTimer);
    if (await this.connected()) {
      this.catchUpDelay = CATCH_UP_RETRY_MS;
      return;
    }
    if (!this.channel.connected) return;
    this.catchUpTimer = setTimeout(() => void this.catchUp(), this.catchUpDelay);
    this.catchUpDelay = Math.min(this.catchUpDelay * 2, CATCH_UP_RETRY_MAX_MS);
  }

  /** Loads the page before the oldest loaded message. */
  async loadOlder(): Promise<string | undefined> {
    const oldest = Math.min(...this.items.keys());
    const response = await this.channel.request('message:list', {
      ...(Number.isFinite(oldest) ? { before: oldest } : {}),
      limit: PAGE_SIZE,
    });
    if (!response.success) return response.error;
    this.hasOlder = response.has_more;
    this.takeCount(response.unread_count, response.version, this.add(response.messages));
    this.emit({ added: [], arrival: 'caught-up' });
    return undefined;
  }

  /**
   * Marks one message (or all, without `id`) read for this user; every tab's count follows.
   * @returns the server's error sentence, or undefined.
   */
  async markRead(id?: number): Promise<string | undefined> {
    const changed = [...this.items.values()].filter((item) => !item.read && (id === undefined || item.id === id));
    for (const item of changed) item.read = true;
    const before = this.unreadNow;
    const versionBefore = this.version;
    if (id === undefined) this.unreadNow = 0;
    else if (changed.length > 0) this.unreadNow = Math.max(0, this.unreadNow - 1);
    this.emit({ added: [], arrival: 'live' });
    const response = await this.channel.request('message:read', id === undefined ? { all: true } : { message_id: id });
    if (!response.success) {
      for (const item of changed) item.read = false;
      // A count heard meanwhile is newer than the one this guess replaced.
      if (this.version === versionBefore) this.unreadNow = before;
      this.emit({ added: [], arrival: 'live' });
      return response.error;
    }
    this.takeCount(response.unread_count, response.version);
    return undefined;
  }

  /** Stops listening to the socket, clears the timers and forgets every listener. */
  dispose(): void {
    void this.owned.dispose();
    this.listeners.clear();
  }

  /** Adds messages not held yet; returns them, oldest first. */
  private add(messages: MessageItem[]): MessageItem[] {
    const added: MessageItem[] = [];
    for (const message of messages) {
      if (this.items.has(message.id)) continue;
      this.items.set(message.id, { ...message });
      added.push(message);
      this.lastId = Math.max(this.lastId, message.id);
    }
    return added.sort((a, b) => a.id - b.id);
  }

  /** Another tab marked messages read: mirror it without a refetch. */
  private applyRead(read: { message_id: number } | { up_to: number }): void {
    for (const item of this.items.values()) {
      if ('message_id' in read ? item.id === read.message_id : item.id <= read.up_to) item.read = true;
    }
    this.emit({ added: [], arrival: 'live' });
  }

  /**
   * Takes the server's count unless a newer version's count was taken already (an answer
   * overtaken by a push; an answer's version is read before the rest of it, so an equal
   * one is as new). An older answer's new messages are kept, but their read flags may be
   * out of date: they are relearnt. A count without a version (an older server) is taken.
   */
  private takeCount(count: number, version: MessageVersion | undefined, brought: MessageItem[] = []): void {
    if (version !== undefined && version < this.version) {
      if (brought.some((item) => !item.read)) this.scheduleReadRefresh();
      return;
    }
    if (version !== undefined) this.version = version;
    this.setUnread(count);
  }

  private setUnread(count: number): void {
    const changed = count !== this.unreadNow;
    this.unreadNow = count;
    const localUnread = [...this.items.values()].filter((item) => !item.read).length;
    if (count === 0 && localUnread > 0) {
      for (const item of this.items.values()) item.read = true; // read in another tab
    } else if (localUnread > count) {
      this.scheduleReadRefresh(); // some were read elsewhere: learn which
    }
    if (changed || count === 0) this.emit({ added: [], arrival: 'live' });
  }

  private scheduleReconcile(): void {
    clearTimeout(this.reconcileTimer);
    this.reconcileTimer = setTimeout(() => {
      void this.channel.request('message:sync', { since: this.lastId, limit: 1 }).then((response) => {
        if (!response.success) return;
        const added = this.add(response.messages);
        if (added.length > 0) this.emit({ added, arrival: 'live' });
        this.takeCount(response.unread_count, response.version, added);
      });
    }, COUNT_RECONCILE_MS);
  }

  private scheduleReadRefresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      void this.channel.request('message:list', { limit: PAGE_SIZE }).then((response) => {
        if (!response.success) return;
        // Only unread → read: an answer older than a mark, or than this tab's own mark
        // still on its way, must not make a message unread again.
        for (const fresh of response.messages) {
          const held = this.items.get(fresh.id);
          if (held && fresh.read) held.read = true;
        }
        this.emit({ added: [], arrival: 'live' });
      });
    }, COUNT_RECONCILE_MS);
  }

  private emit(change: StoreChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

import type { MessageItem, MessageUnreadCountEvent } from '@ctos/protocol';
import type { ClientSocket } from '@ctos/testkit';

/** Page size the tab asks for: small, so paging is exercised on every catch-up. */
const PAGE = 4;

/**
 * One browser tab's view of its user's messages, kept the way the web page keeps it
 * (web/src/messages/message-store.ts) minus the timers: on every (re)connect the newest
 * messages once, then `message:sync` from the last id it holds; live `message:new` and
 * `message:unread_count` (whose `read` says what another tab marked) in between. Read
 * flags that changed while it was away are relearnt with `message:list` when it holds
 * more unread messages than the server counts (read state only ever goes unread → read).
 *
 * Pushes and answers take different paths (adapter, bus), so an answer can arrive after a
 * newer push: as the page does, it keeps the count from the highest `version` it has seen,
 * and when an answer older than that brought messages whose read flags may be out of date,
 * it relearns the flags. Read marks are applied whatever their version: read state only
 * ever goes unread → read, so an old mark is still true.
 *
 * It never marks anything read locally: its view changes only through what the server
 * sends, so a view that matches the model proves the pushes and the catch-up suffice.
 * Whatever breaks the protocol's promises on the wire (a message pushed out of id order or
 * twice on one connection, a mark pushed after a newer count, a sync page out of order, a
 * count without a version) is recorded in {@link violations}. A count without a mark (one
 * per user after new messages, pushed after the messages' own step: decision 0016) may
 * arrive after a newer one; like the page, the tab keeps the newer.
 */
export class Tab {
  readonly items = new Map<number, MessageItem>();
  /** The unread count of the newest version the server told this tab. */
  count: number | undefined;
  readonly violations: string[] = [];
  private socket: ClientSocket | undefined;
  private listed = false;
  /** The highest id pushed on the current connection. */
  private lastPushed = 0;
  /** The highest version a count was pushed with on the current connection. */
  private lastPushedVersion = 0;
  /** The highest version heard, pushed or answered: the one {@link count} is of. */
  private version = 0;
  /** An answer older than {@link version} brought messages during this catch-up. */
  private staleFlags = false;

  constructor(readonly label: string) {}

  get open(): boolean {
    return this.socket !== undefined;
  }

  /** The highest id held, the cursor of the next sync. */
  get lastId(): number {
    return Math.max(0, ...this.items.keys());
  }

  /** Held messages marked unread. */
  get localUnread(): number {
    return [...this.items.values()].filter((item) => !item.read).length;
  }

  /** Takes `socket` (just connected) and catches up as the page does on every connect. */
  async attach(socket: ClientSocket): Promise<void> {
    this.socket = socket;
    this.lastPushed = 0;
    this.lastPushedVersion = 0;
    this.staleFlags = false;
    socket.on('message:new', this.onNew);
    socket.on('message:unread_count', this.onCount);
    if (!this.listed) {
      await this.listAll(false);
      this.listed = true;
    }
    await this.syncFrom(this.lastId);
    if (this.staleFlags || this.localUnread > (this.count ?? 0)) await this.listAll(true);
  }

  /** Closes the connection; the view stays as it was, as in a tab that went offline. */
  detach(): void {
    const socket = this.socket;
    if (!socket) return;
    socket.off('message:new', this.onNew);
    socket.off('message:unread_count', this.onCount);
    socket.close();
    this.socket = undefined;
  }

  /** The socket, for commands sent from this tab. */
  get connection(): ClientSocket {
    if (!this.socket) throw new Error(`${this.label} is not connected`);
    return this.socket;
  }

  private readonly onNew = (item: MessageItem): void => {
    if (item.id <= this.lastPushed) this.violations.push(`push ${item.id} after ${this.lastPushed}`);
    if (item.read) this.violations.push(`push ${item.id} arrived read`);
    this.lastPushed = Math.max(this.lastPushed, item.id);
    this.add([item]);
  };

  private readonly onCount = ({ count, read, version }: MessageUnreadCountEvent): void => {
    if (read && version !== undefined && version < this.lastPushedVersion) {
      this.violations.push(`mark of version ${version} pushed after a count of ${this.lastPushedVersion}`);
    }
    this.lastPushedVersion = Math.max(this.lastPushedVersion, version ?? 0);
    if (read) {
      for (const item of this.items.values()) {
        if ('message_id' in read ? item.id === read.message_id : item.id <= read.up_to) item.read = true;
      }
    }
    this.takeCount(count, version, 'push');
  };

  /**
   * Takes the count of `version` unless the tab has heard a newer one; returns whether it
   * did. An answer's version is read before the rest of it, so an equal one is as new.
   */
  private takeCount(count: number, version: number | undefined, from: string): boolean {
    if (version === undefined) {
      this.violations.push(`${from} counted ${count} without a version`);
    } else if (version < this.version) {
      return false;
    } else {
      this.version = version;
    }
    this.count = count;
    return true;
  }

  /** Adds what it does not hold yet (ids dedupe). */
  private add(messages: MessageItem[]): void {
    for (const message of messages) if (!this.items.has(message.id)) this.items.set(message.id, { ...message });
  }

  /** Pages `message:sync` from `since` until it says no more. */
  private async syncFrom(since: number): Promise<void> {
    let cursor = since;
    for (;;) {
      const page = await this.connection.emitWithAck('message:sync', { since: cursor, limit: PAGE });
      if (!page.success) throw new Error(`${this.label}: sync answered ${page.code}`);
      const ids = page.messages.map((message) => message.id);
      if (ids.some((id, i) => id <= (i === 0 ? cursor : ids[i - 1]!)) || ids.length > PAGE) {
        this.violations.push(`sync since ${cursor} gave ${JSON.stringify(ids)}`);
      }
      this.add(page.messages);
      if (!this.takeCount(page.unread_count, page.version, 'sync') && ids.length > 0) this.staleFlags = true;
      cursor = ids[ids.length - 1] ?? cursor;
      if (!page.has_more || ids.length === 0) return;
    }
  }

  /**
   * Pages `message:list` back to the oldest: on the first connect it loads them; with
   * `refresh` it relearns the read flags of what it holds.
   */
  private async listAll(refresh: boolean): Promise<void> {
    let before: number | undefined;
    for (;;) {
      const page = await this.connection.emitWithAck('message:list', {
        ...(before === undefined ? {} : { before }),
        limit: PAGE,
      });
      if (!page.success) throw new Error(`${this.label}: list answered ${page.code}`);
      for (const fresh of page.messages) {
        const held = this.items.get(fresh.id);
        if (held && refresh && fresh.read) held.read = true;
      }
      if (!refresh) this.add(page.messages);
      if (!this.takeCount(page.unread_count, page.version, 'list') && !refresh && page.messages.length > 0) {
        this.staleFlags = true;
      }
      before = page.messages[page.messages.length - 1]?.id;
      if (!page.has_more || before === undefined) return;
    }
  }
}

import {
  expected,
  latestId,
  seen,
  settle,
  tabIndex,
  unreadCount,
  type Command,
  type ReadStateModel,
  type ReadStateSystem,
} from './read-state-model';

/** A tab pages through `message:list` (newest first) to the oldest; every page must match the model. */
export class List implements Command {
  constructor(
    readonly tab: number,
    readonly limit: number,
  ) {}
  check = (model: Readonly<ReadStateModel>): boolean => model.tabs[tabIndex(model, this.tab)]!.open;
  async run(model: ReadStateModel, system: ReadStateSystem): Promise<void> {
    const index = tabIndex(model, this.tab);
    system.log.push(`list(tab ${index}, pages of ${this.limit})`);
    const user = model.users[model.tabs[index]!.user]!;
    const socket = system.tabs[index]!.connection;
    const newestFirst = expected(user).reverse();
    let before: number | undefined;
    for (let offset = 0; ; offset += this.limit) {
      const page = await socket.emitWithAck('message:list', {
        ...(before === undefined ? {} : { before }),
        limit: this.limit,
      });
      if (!page.success) throw new Error(`list answered ${page.code}`);
      const want = newestFirst.slice(offset, offset + this.limit);
      expect({ ...page, messages: seen(page.messages) }).toEqual({
        success: true,
        messages: want,
        unread_count: unreadCount(user),
        has_more: newestFirst.length > offset + this.limit,
        version: expect.any(Number),
      });
      if (!page.has_more) break;
      before = want[want.length - 1]![0];
    }
    await settle(model, system);
  }
  toString = (): string => `list(tab #${this.tab}, pages of ${this.limit})`;
}

/** A tab asks `message:sync` from some id (0 to one past the newest): one page, as the model says. */
export class Sync implements Command {
  constructor(
    readonly tab: number,
    readonly pick: number,
    readonly limit: number,
  ) {}
  check = (model: Readonly<ReadStateModel>): boolean => model.tabs[tabIndex(model, this.tab)]!.open;
  async run(model: ReadStateModel, system: ReadStateSystem): Promise<void> {
    const index = tabIndex(model, this.tab);
    const user = model.users[model.tabs[index]!.user]!;
    const since = this.pick % (latestId(user) + 2);
    system.log.push(`sync(tab ${index}, since ${since}, limit ${this.limit})`);
    const page = await system.tabs[index]!.connection.emitWithAck('message:sync', { since, limit: this.limit });
    if (!page.success) throw new Error(`sync answered ${page.code}`);
    const after = expected(user).filter(([id]) => id > since);
    expect({ ...page, messages: seen(page.messages) }).toEqual({
      success: true,
      messages: after.slice(0, this.limit),
      unread_count: unreadCount(user),
      has_more: after.length > this.limit,
      latest_id: latestId(user),
      version: expect.any(Number),
    });
    await settle(model, system);
  }
  toString = (): string => `sync(tab #${this.tab}, since #${this.pick}, limit ${this.limit})`;
}

import type { MessageItem, MessageReadPayload } from '@ctos/protocol';
import { waitFor } from '@ctos/testkit';
import type fc from 'fast-check';
import type { TestCluster } from './harness';
import type { Tab } from './read-state-tab';

/**
 * How long a tab may take to settle after a command (ms): a few round trips take
 * milliseconds, so this only matters on a loaded machine; short enough that shrinking a
 * failure (every failing try waits it out) fits the property's budget.
 */
const SETTLE_MS = 4000;
/** Poll period while waiting for a tab to settle (ms): commands are quick, so poll often. */
const SETTLE_POLL_MS = 5;

/** One message as the reference model holds it. */
export interface ModelMessage {
  id: number;
  title: string;
  read: boolean;
}

/** One user in the reference model: their messages in id order, and the idempotency keys producers used. */
export interface UserModel {
  messages: ModelMessage[];
  keys: Array<{ key: string; id: number; title: string }>;
}

/**
 * The reference model: per user, an in-memory list of messages with read flags; per tab,
 * whose it is and whether it is connected.
 */
export interface ReadStateModel {
  users: UserModel[];
  tabs: Array<{ user: number; open: boolean }>;
}

/** The system under test: a cluster, the users' ids, and the tabs (same order as the model's). */
export interface ReadStateSystem {
  cluster: TestCluster;
  users: string[];
  tabs: Tab[];
  /** A title no other message of this run has. */
  title(): string;
  /** What each command did, with the tabs and ids it resolved to: said when the run fails. */
  log: string[];
}

/** A command of the model-based test. */
export type Command = fc.AsyncCommand<ReadStateModel, ReadStateSystem>;

/** The tab a command's pick names: taken modulo, so any pick names a tab. */
export const tabIndex = (model: Readonly<ReadStateModel>, pick: number): number => pick % model.tabs.length;

/** The label a user index reads as in a counterexample. */
export const who = (user: number): string => (user === 0 ? 'alice' : 'bob');

export function unreadCount(user: UserModel): number {
  return user.messages.filter((message) => !message.read).length;
}

/** The newest id the user was given (ids are 1, 2, … with nothing dropped at these sizes). */
export function latestId(user: UserModel): number {
  return user.messages.length;
}

/**
 * Applies `mark` as README's protocol table says, and returns the new unread count, or
 * `NOT_FOUND` (then nothing changed): an id the user does not have, or `up_to` beyond
 * the newest id. Marking something already read is not an error.
 */
export function applyMark(user: UserModel, mark: MessageReadPayload): number | 'NOT_FOUND' {
  if ('message_id' in mark) {
    const message = user.messages.find((m) => m.id === mark.message_id);
    if (!message) return 'NOT_FOUND';
    message.read = true;
  } else {
    const upTo = 'up_to' in mark ? mark.up_to : latestId(user);
    if (upTo > latestId(user)) return 'NOT_FOUND';
    for (const message of user.messages) if (message.id <= upTo) message.read = true;
  }
  return unreadCount(user);
}

/** Messages as the model expects the server to list them: `[id, title, read]`. */
export function expected(user: UserModel): Array<[number, string, boolean]> {
  return user.messages.map((m) => [m.id, m.title, m.read]);
}

/** The same triple for messages a server sent. */
export function seen(messages: Iterable<MessageItem>): Array<[number, string, boolean]> {
  return [...messages].map((m) => [m.id, m.title, m.read]);
}

/** Messages as `id:title:read|unread`, for failure messages. */
function listing(messages: Iterable<MessageItem>): string {
  return seen(messages)
    .map(([id, title, read]) => `${id}:${title}:${read ? 'read' : 'unread'}`)
    .join(' ');
}

/** Why a connected tab's view differs from its user's model, or undefined when it matches. */
function openTabDiff(tab: Tab, user: UserModel): string | undefined {
  const view = seen([...tab.items.values()].sort((a, b) => a.id - b.id));
  const want = expected(user);
  if (JSON.stringify(view) !== JSON.stringify(want)) {
    return `view ${JSON.stringify(view)} but model ${JSON.stringify(want)}`;
  }
  const unread = unreadCount(user);
  if (tab.count !== unread) return `unread count ${tab.count} but model ${unread}`;
  return undefined;
}

/**
 * Why a disconnected tab's view is inconsistent, or undefined: it may be stale, but it
 * holds a prefix of the user's messages, and nothing it shows read is unread.
 */
function closedTabDiff(tab: Tab, user: UserModel): string | undefined {
  for (const item of tab.items.values()) {
    const message = user.messages[item.id - 1];
    if (!message || message.title !== item.title) return `holds ${item.id} ${item.title} the user never got`;
    if (item.read && !message.read) return `shows ${item.id} read but it is unread`;
  }
  if (tab.items.size !== tab.lastId) return `holds ${tab.items.size} messages up to ${tab.lastId}: a gap`;
  return undefined;
}

/**
 * Waits until every connected tab's view equals its user's model (messages, order, read
 * flags, unread count), then checks every disconnected tab is a consistent, older view,
 * and that no tab saw a protocol violation on the wire.
 * @throws Error naming the tab and what differs.
 */
export async function settle(model: ReadStateModel, system: ReadStateSystem): Promise<void> {
  for (const [i, state] of model.tabs.entries()) {
    const tab = system.tabs[i]!;
    const user = model.users[state.user]!;
    if (tab.open !== state.open) throw new Error(`${tab.label} open=${tab.open}, model says ${state.open}`);
    if (state.open) {
      await waitFor(() => openTabDiff(tab, user) === undefined, {
        timeoutMs: SETTLE_MS,
        intervalMs: SETTLE_POLL_MS,
      }).catch(() => {
        throw new Error(
          `${tab.label} did not settle: ${openTabDiff(tab, user)}; it holds ${listing(tab.items.values())}`,
        );
      });
    } else {
      const diff = closedTabDiff(tab, user);
      if (diff) throw new Error(`${tab.label} (disconnected) ${diff}`);
    }
    if (tab.violations.length > 0) throw new Error(`${tab.label}: ${tab.violations.join('; ')}`);
  }
}

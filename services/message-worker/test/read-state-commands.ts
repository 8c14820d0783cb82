import type { MessageReadPayload } from '@ctos/protocol';
import fc from 'fast-check';
import { draft, type PostAnswer } from './harness';
import {
  applyMark,
  latestId,
  unreadCount,
  settle,
  tabIndex,
  who,
  type Command,
  type ReadStateModel,
  type ReadStateSystem,
} from './read-state-model';
import { List, Sync } from './read-state-queries';
import { Tab } from './read-state-tab';

/** Tabs open at most in one run (both users together): enough for fan-out, few enough to stay quick. */
export const MAX_TABS = 5;
/** Messages posted at once by one command: concurrent writers through both workers. */
const MAX_CONCURRENT_POSTS = 3;
/** Gateways and message-workers the cluster has; commands pick among them. */
export const GATEWAYS = 2;
export const WORKERS = 2;

/** How a post uses an Idempotency-Key: none, one, or one sent twice at once (a producer retrying too early). */
type Keying = 'none' | 'keyed' | 'sent twice';

/**
 * Posts `titles` for user `user` at once, spread over the workers, then checks the answers
 * and appends the messages to the model: new ids, one each, the next ones in order.
 */
async function postAll(
  model: ReadStateModel,
  system: ReadStateSystem,
  user: number,
  titles: string[],
  options: { worker: number; keying: Keying },
): Promise<void> {
  const userId = system.users[user]!;
  const sends = options.keying === 'sent twice' ? [0, 1] : [0];
  const answers: PostAnswer[][] = await Promise.all(
    titles.map((title, i) =>
      Promise.all(
        sends.map((send) =>
          system.cluster.post(draft(userId, title), {
            worker: (options.worker + i + send) % WORKERS,
            ...(options.keying === 'none' ? {} : { key: `key-${title}` }),
          }),
        ),
      ),
    ),
  );
  recordPosts(model, user, titles, answers.map(createdOf), options.keying !== 'none');
}

/** Of the answers to one request (sent once or twice at once), the one that created it; the other must name the same id. */
function createdOf([first, second]: PostAnswer[]): PostAnswer {
  if (!second) return first!;
  const [created, duplicate] = first!.status === 201 ? [first!, second] : [second, first!];
  const [message] = created.body.messages as Array<Record<string, unknown>>;
  expect({ status: duplicate.status, body: duplicate.body }).toEqual({
    status: 200,
    body: { messages: [{ ...message, duplicate: true }] },
  });
  return created;
}

/** Appends what the producer was answered to the model, once every answer is as the API promises. */
function recordPosts(model: ReadStateModel, user: number, titles: string[], answers: PostAnswer[], keyed: boolean) {
  const state = model.users[user]!;
  const created = answers.map((answer, i) => {
    expect(answer.status).toBe(201);
    const [copy, ...others] = answer.body.messages as Array<{ id: number; duplicate: boolean }>;
    expect(others).toEqual([]);
    expect(copy).toMatchObject({ duplicate: false });
    return { id: copy!.id, title: titles[i]! };
  });
  created.sort((a, b) => a.id - b.id);
  const first = latestId(state) + 1;
  expect(created.map((c) => c.id)).toEqual(created.map((_, i) => first + i));
  for (const { id, title } of created) {
    state.messages.push({ id, title, read: false });
    if (keyed) state.keys.push({ key: `key-${title}`, id, title });
  }
}

/** A producer posts 1–3 messages for one user at once (through both workers when more than one), perhaps keyed. */
export class Post implements Command {
  constructor(
    readonly user: number,
    readonly worker: number,
    readonly copies: number,
    readonly keying: Keying,
  ) {}
  check = (): boolean => true;
  async run(model: ReadStateModel, system: ReadStateSystem): Promise<void> {
    system.log.push(String(this));
    const titles = Array.from({ length: this.copies }, () => system.title());
    await postAll(model, system, this.user, titles, { worker: this.worker, keying: this.keying });
    await settle(model, system);
  }
  toString = (): string =>
    `post(${who(this.user)}, worker ${this.worker}, x${this.copies}${this.keying === 'none' ? '' : `, ${this.keying}`})`;
}

/** A producer retries a request it already made with the same Idempotency-Key: nothing new may appear. */
class Retry implements Command {
  constructor(
    readonly user: number,
    readonly pick: number,
    readonly worker: number,
  ) {}
  check = (model: Readonly<ReadStateModel>): boolean => model.users[this.user]!.keys.length > 0;
  async run(model: ReadStateModel, system: ReadStateSystem): Promise<void> {
    const keys = model.users[this.user]!.keys;
    const { key, id, title } = keys[this.pick % keys.length]!;
    system.log.push(`retry(${who(this.user)}, ${key} of message ${id}, worker ${this.worker})`);
    const userId = system.users[this.user]!;
    const answer = await system.cluster.post(draft(userId, title), { key, worker: this.worker });
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 200,
      body: { messages: [{ user_id: userId, id, duplicate: true }] },
    });
    await settle(model, system);
  }
  toString = (): string => `retry(${who(this.user)}, key #${this.pick}, worker ${this.worker})`;
}

/** Posts `titles` for `user` all at once, spread over the workers, without keys. */
function postConcurrently(system: ReadStateSystem, user: number, titles: string[]): Promise<PostAnswer[]> {
  const userId = system.users[user]!;
  return Promise.all(titles.map((title, i) => system.cluster.post(draft(userId, title), { worker: i % WORKERS })));
}

/** What a mark must be answered: `NOT_FOUND`, or an unread count within bounds (writes racing it move it). */
type Answer = 'NOT_FOUND' | { min: number; max: number };

/** Sends `mark` from tab `index` and checks the answer. */
async function markFrom(system: ReadStateSystem, index: number, mark: MessageReadPayload, want: Answer) {
  const answer = await system.tabs[index]!.connection.emitWithAck('message:read', mark);
  if (want === 'NOT_FOUND') {
    expect(answer).toMatchObject({ success: false, code: 'NOT_FOUND' });
  } else if (!answer.success || answer.unread_count < want.min || answer.unread_count > want.max) {
    throw new Error(`mark ${JSON.stringify(mark)} answered ${JSON.stringify(answer)}, model ${JSON.stringify(want)}`);
  }
}

/** Another open tab of the tab's user, if there is one. */
function sibling(model: Readonly<ReadStateModel>, index: number): number | undefined {
  const found = model.tabs.findIndex((tab, i) => i !== index && tab.user === model.tabs[index]!.user && tab.open);
  return found < 0 ? undefined : found;
}

/**
 * One tab marks one message, everything up to an id, or all read (ids beyond the user's
 * too). When the outcome cannot depend on order (an id or bound the user already has), a
 * producer posts `during` more at the same time and, with `also`, another tab of the user
 * marks one message read at the same time.
 */
class Mark implements Command {
  constructor(
    readonly tab: number,
    readonly kind: 'message_id' | 'up_to' | 'all',
    readonly pick: number,
    readonly during: number,
    readonly also?: number,
  ) {}
  check = (model: Readonly<ReadStateModel>): boolean => model.tabs[tabIndex(model, this.tab)]!.open;
  async run(model: ReadStateModel, system: ReadStateSystem): Promise<void> {
    const index = tabIndex(model, this.tab);
    const user = model.tabs[index]!.user;
    const state = model.users[user]!;
    // From 1 to two past the newest id, so NOT_FOUND is tried too.
    const id = (this.pick % (latestId(state) + 2)) + 1;
    const mark = (this.kind === 'all' ? { all: true } : { [this.kind]: id }) as MessageReadPayload;
    const before = unreadCount(state);
    const want = applyMark(state, mark);
    const racing = want !== 'NOT_FOUND' && this.kind !== 'all';
    const during = racing ? this.during : 0;
    const other = racing && this.also !== undefined ? sibling(model, index) : undefined;
    const second = { message_id: ((this.also ?? 0) % latestId(state)) + 1 };
    if (other !== undefined) applyMark(state, second);
    const after = unreadCount(state);
    system.log.push(
      `mark(tab ${index}, ${JSON.stringify(mark)}${during ? `, ${during} posted` : ''}${
        other === undefined ? '' : `, tab ${other} marks ${second.message_id}`
      })`,
    );
    const titles = Array.from({ length: during }, () => system.title());
    const [, answers] = await Promise.all([
      markFrom(system, index, mark, want === 'NOT_FOUND' ? want : { min: after, max: want + during }),
      postConcurrently(system, user, titles),
      other === undefined ? undefined : markFrom(system, other, second, { min: after, max: before + during }),
    ]);
    recordPosts(model, user, titles, answers, false);
    await settle(model, system);
  }
  toString = (): string =>
    `mark(tab #${this.tab}, ${this.kind} #${this.pick}, ${this.during} posted${this.also === undefined ? '' : `, also #${this.also}`})`;
}

/** A tab loses its connection (its view stays, stale). */
class Disconnect implements Command {
  constructor(readonly tab: number) {}
  check = (model: Readonly<ReadStateModel>): boolean => model.tabs[tabIndex(model, this.tab)]!.open;
  async run(model: ReadStateModel, system: ReadStateSystem): Promise<void> {
    const index = tabIndex(model, this.tab);
    system.log.push(`disconnect(tab ${index})`);
    system.tabs[index]!.detach();
    model.tabs[index]!.open = false;
    await settle(model, system);
  }
  toString = (): string => `disconnect(tab #${this.tab})`;
}

/**
 * A disconnected tab reconnects through a gateway and syncs from its last id, while a
 * producer posts `during` messages for its user and, with `markPick`, another open tab
 * of the user marks one of the user's messages read (pushes and the catch-up overlap).
 */
export class Reconnect implements Command {
  constructor(
    readonly tab: number,
    readonly gateway: number,
    readonly during: number,
    readonly markPick?: number,
  ) {}
  check = (model: Readonly<ReadStateModel>): boolean => !model.tabs[tabIndex(model, this.tab)]!.open;
  async run(model: ReadStateModel, system: ReadStateSystem): Promise<void> {
    const index = tabIndex(model, this.tab);
    const user = model.tabs[index]!.user;
    const state = model.users[user]!;
    const other = sibling(model, index);
    const marker = this.markPick === undefined || latestId(state) === 0 ? undefined : other;
    const mark = { message_id: ((this.markPick ?? 0) % Math.max(1, latestId(state))) + 1 };
    const want = marker === undefined ? 0 : (applyMark(state, mark) as number);
    const marking = marker === undefined ? '' : `, tab ${marker} marks ${mark.message_id} read`;
    system.log.push(`reconnect(tab ${index}, gateway ${this.gateway}, ${this.during} posted${marking} meanwhile)`);
    const titles = Array.from({ length: this.during }, () => system.title());
    const [, answers] = await Promise.all([
      system.cluster.connect(system.users[user]!, this.gateway).then((socket) => system.tabs[index]!.attach(socket)),
      postConcurrently(system, user, titles),
      marker === undefined ? undefined : markFrom(system, marker, mark, { min: want, max: want + this.during }),
    ]);
    model.tabs[index]!.open = true;
    recordPosts(model, user, titles, answers, false);
    await settle(model, system);
  }
  toString = (): string =>
    `reconnect(tab #${this.tab}, gateway ${this.gateway}, ${this.during} posted${this.markPick === undefined ? '' : `, mark #${this.markPick}`})`;
}

/** The user opens another tab. */
class OpenTab implements Command {
  constructor(
    readonly user: number,
    readonly gateway: number,
  ) {}
  check = (model: Readonly<ReadStateModel>): boolean => model.tabs.length < MAX_TABS;
  async run(model: ReadStateModel, system: ReadStateSystem): Promise<void> {
    system.log.push(`open-tab(${who(this.user)} as tab ${model.tabs.length}, gateway ${this.gateway})`);
    await openTab(model, system, this.user, this.gateway);
    await settle(model, system);
  }
  toString = (): string => `open-tab(${who(this.user)}, gateway ${this.gateway})`;
}

/** Opens a tab of `user` on `gateway`, in the model and for real. */
export async function openTab(model: ReadStateModel, system: ReadStateSystem, user: number, gateway: number) {
  const tab = new Tab(`tab ${model.tabs.length} (${who(user)})`);
  system.tabs.push(tab);
  model.tabs.push({ user, open: true });
  await tab.attach(await system.cluster.connect(system.users[user]!, gateway));
}

/** Every command, with the arbitraries of its parameters. */
export function commandArbitraries(): Array<fc.Arbitrary<Command>> {
  const user = fc.integer({ min: 0, max: 1 });
  const tab = fc.nat({ max: MAX_TABS - 1 });
  const pick = fc.nat({ max: 20 });
  const gateway = fc.integer({ min: 0, max: GATEWAYS - 1 });
  const worker = fc.integer({ min: 0, max: WORKERS - 1 });
  const copies = fc.integer({ min: 1, max: MAX_CONCURRENT_POSTS });
  const kind = fc.constantFrom('message_id' as const, 'up_to' as const, 'all' as const);
  const keying = fc.constantFrom<Keying>('none', 'keyed', 'sent twice');
  const post = fc.tuple(user, worker, copies, keying).map(([u, w, c, k]) => new Post(u, w, c, k));
  const during = fc.nat({ max: MAX_CONCURRENT_POSTS });
  const mark = fc
    .tuple(tab, kind, pick, during, fc.option(pick, { nil: undefined }))
    .map(([t, k, p, d, a]) => new Mark(t, k, p, d, a));
  const reconnect = fc
    .tuple(tab, gateway, during, fc.option(pick, { nil: undefined }))
    .map(([t, g, d, m]) => new Reconnect(t, g, d, m));
  // fast-check picks each entry alike: the ones listed twice come twice as often.
  return [
    post,
    post,
    mark,
    mark,
    fc.tuple(user, pick, worker).map(([u, p, w]) => new Retry(u, p, w)),
    tab.map((t) => new Disconnect(t)),
    reconnect,
    reconnect,
    fc.tuple(user, gateway).map(([u, g]) => new OpenTab(u, g)),
    fc.tuple(tab, fc.integer({ min: 1, max: 5 })).map(([t, l]) => new List(t, l)),
    fc.tuple(tab, pick, fc.integer({ min: 1, max: 5 })).map(([t, p, l]) => new Sync(t, p, l)),
  ];
}

import type { MessageBusMessage } from '@ctos/protocol';
import { waitFor, type ClientSocket } from '@ctos/testkit';
import { BUILDS, draft, Inbox, startCluster, type TestCluster } from './harness';
import { Tab } from './read-state-tab';

/** Holds the answer to one user's next `message:sync` until released; every other answer passes. */
class HeldSync {
  /** True once the answer is computed and being held. */
  taken = false;
  private letGo!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.letGo = resolve));

  constructor(readonly user: string) {}

  /** The cluster's reply gate while this hold is armed. */
  gate(request: MessageBusMessage): Promise<void> | undefined {
    if (request.op !== 'sync' || request.user !== this.user || this.taken) return undefined;
    this.taken = true;
    return this.released;
  }

  release(): void {
    this.letGo();
  }
}

/** The server's view of `socket`'s user: `[id, read]` of every message, and the unread count. */
async function serverView(socket: ClientSocket) {
  const page = await socket.emitWithAck('message:sync', { since: 0 });
  if (!page.success) throw new Error(`sync answered ${page.code}`);
  return { flags: page.messages.map((m) => [m.id, m.read]), count: page.unread_count };
}

/** The tab's view in the same shape. */
function tabView(tab: Tab) {
  const items = [...tab.items.values()].sort((a, b) => a.id - b.id);
  return { flags: items.map((m) => [m.id, m.read]), count: tab.count };
}

/**
 * A `message:sync` answer travels back over the bus; pushes travel through the adapter. An
 * answer held back until a newer `message:unread_count` has reached the tab (another tab
 * marked read meanwhile) must not put its older count, or its older read flags, back.
 */
describe.each(BUILDS)('a sync answer that arrives after a newer push (%s)', (build) => {
  let cluster: TestCluster;
  let hold: HeldSync | undefined;

  beforeAll(async () => {
    cluster = await startCluster(build, { replyGate: (request) => hold?.gate(request) });
  });
  afterAll(() => cluster.stop());

  /**
   * Reconnects `tab` with its catch-up sync held, runs `meanwhile` (which makes the server
   * push a count the tab's socket hears as `pushed`), then lets the answer go and waits
   * for the catch-up to finish.
   */
  async function reconnectOvertaken(tab: Tab, user: string, meanwhile: () => Promise<void>, pushed: number) {
    tab.detach();
    const held = (hold = new HeldSync(user));
    const socket = await cluster.connect(user);
    const heard = new Inbox(socket);
    const attached = tab.attach(socket);
    await waitFor(() => held.taken, { message: 'the catch-up sync to be answered and held' });
    await meanwhile();
    await heard.waitForCount(pushed);
    held.release();
    await attached;
  }

  it('keeps the count of a push that overtook the answer', async () => {
    const user = `count-${build}`;
    const tab = new Tab('tab');
    await tab.attach(await cluster.connect(user));
    const other = await cluster.connect(user);
    await cluster.post(draft(user, 'm1'));
    await waitFor(() => tab.count === 1, { message: 'the tab to count 1' });
    // The held answer counts 1; the other tab's mark pushes 0 ahead of it.
    await reconnectOvertaken(
      tab,
      user,
      async () => void (await other.emitWithAck('message:read', { message_id: 1 })),
      0,
    );
    expect(tabView(tab)).toEqual(await serverView(other));
    expect(tab.violations).toEqual([]);
    tab.detach();
  });

  it('keeps the read flag of a push that overtook the answer bringing the message', async () => {
    const user = `flags-${build}`;
    const tab = new Tab('tab');
    await tab.attach(await cluster.connect(user));
    const other = await cluster.connect(user);
    await cluster.post(draft(user, 'm1'));
    await waitFor(() => tab.count === 1, { message: 'the tab to count 1' });
    tab.detach();
    await cluster.post(draft(user, 'm2'));
    // The held answer brings m2 unread and counts 2; the other tab's mark of m2 pushes 1
    // ahead of it, when the tab does not hold m2 yet.
    await reconnectOvertaken(
      tab,
      user,
      async () => void (await other.emitWithAck('message:read', { message_id: 2 })),
      1,
    );
    expect(tabView(tab)).toEqual(await serverView(other));
    expect(tab.violations).toEqual([]);
    tab.detach();
  });
});

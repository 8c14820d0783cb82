import { execFileSync } from 'node:child_process';
import { waitFor, type ClientSocket } from '@ctos/testkit';
import { connectAs, openSession, type } from './harness';
import { BUILDS, startTerminalCluster, type TerminalCluster } from './terminal-cluster';

/** A detached session lives this long in these tests (ms); the product default is 5 minutes. */
const SHORT_IDLE_MS = 1500;

describe.each(BUILDS)('terminal sessions belong to their user (%s)', (build) => {
  let system: TerminalCluster;
  const sockets: ClientSocket[] = [];
  const connect = async (user: string) => {
    const socket = await connectAs(system.url, user);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    system = await startTerminalCluster(build, { env: { TERMINAL_IDLE_TIMEOUT_MS: String(SHORT_IDLE_MS) } });
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(() => system.stop());

  it("answers NOT_FOUND for another user's session and for a made-up id, on every event", async () => {
    const alice = await connect('alice');
    const mallory = await connect('mallory');
    const out = await openSession(alice);
    type(alice, out, 'echo alive');
    await out.waitForText(/[\r\n]alive\r\n/);
    for (const sessionId of [out.sessionId, 'made-up-id', '00000000-0000-4000-8000-000000000000']) {
      const ref = { session_id: sessionId };
      const answers = [
        await mallory.emitWithAck('terminal:input', { ...ref, data: 'echo pwned\r' }),
        await mallory.emitWithAck('terminal:resize', { ...ref, cols: 10, rows: 10 }),
        await mallory.emitWithAck('terminal:attach', ref),
        await mallory.emitWithAck('terminal:reconnect', ref),
        await mallory.emitWithAck('terminal:ack', { ...ref, seq: 1 }),
        await mallory.emitWithAck('terminal:close', ref),
      ];
      for (const answer of answers) expect(answer).toMatchObject({ success: false, code: 'NOT_FOUND' });
    }
    // Without an ack, the refusal comes as terminal:error.
    const error = new Promise((resolve) => mallory.once('terminal:error', resolve));
    mallory.emit('terminal:input', { session_id: out.sessionId, data: 'x' });
    await expect(error).resolves.toMatchObject({ session_id: out.sessionId, code: 'NOT_FOUND' });
    // Nothing reached alice's shell, and mallory's list is empty.
    type(alice, out, 'echo still-mine');
    await out.waitForText(/[\r\n]still-mine\r\n/);
    expect(out.text).not.toContain('pwned');
    await expect(mallory.emitWithAck('terminal:list', {})).resolves.toEqual({ success: true, sessions: [] });
    const list = await alice.emitWithAck('terminal:list', { user_id: 'mallory' });
    expect(list.success && list.sessions.map((s) => s.session_id)).toEqual([out.sessionId]);
  });

  it('refuses the 11th session of a user with LIMIT_EXCEEDED and lets another user open theirs', async () => {
    const bob = await connect('bob');
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await openSession(bob)).sessionId);
    await expect(bob.emitWithAck('terminal:create', { cols: 80, rows: 24 })).resolves.toMatchObject({
      success: false,
      code: 'LIMIT_EXCEEDED',
    });
    const carol = await connect('carol');
    await expect(openSession(carol)).resolves.toBeDefined();
    for (const sessionId of ids) await bob.emitWithAck('terminal:close', { session_id: sessionId });
  });

  it('holds the per-user limit against concurrent creates', async () => {
    const dave = await connect('dave');
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => dave.emitWithAck('terminal:create', { cols: 80, rows: 24 })),
    );
    const created = answers.flatMap((a) => (a.success ? [a.session_id] : []));
    expect(created).toHaveLength(10);
    expect(answers.filter((a) => !a.success).every((a) => !a.success && a.code === 'LIMIT_EXCEEDED')).toBe(true);
    for (const sessionId of created) await dave.emitWithAck('terminal:close', { session_id: sessionId });
  });

  it('refuses bad payloads with INVALID_PAYLOAD and stays up', async () => {
    const alice = await connect('alice');
    const out = await openSession(alice);
    const bad: Array<[string, unknown]> = [
      ['terminal:resize', { session_id: out.sessionId, cols: 0, rows: 24 }],
      ['terminal:resize', { session_id: out.sessionId, cols: 80, rows: -1 }],
      ['terminal:resize', { session_id: out.sessionId, cols: 'abc', rows: 24 }],
      ['terminal:resize', { session_id: out.sessionId, cols: 1001, rows: 24 }],
      ['terminal:input', { session_id: out.sessionId }],
      ['terminal:input', { session_id: out.sessionId, data: 42 }],
      ['terminal:input', 'not an object'],
      ['terminal:create', { cols: 1e9 }],
      ['terminal:attach', { session_id: out.sessionId, since: -5 }],
      ['terminal:close', null],
    ];
    for (const [event, payload] of bad) {
      const answer = await (alice.emitWithAck as (e: string, p: unknown) => Promise<unknown>)(event, payload);
      expect(answer).toMatchObject({ success: false, code: 'INVALID_PAYLOAD' });
    }
    const huge = await alice.emitWithAck('terminal:input', { session_id: out.sessionId, data: 'x'.repeat(70 * 1024) });
    expect(huge).toMatchObject({ success: false, code: 'LIMIT_EXCEEDED' });
    const unknown = await (alice.emitWithAck as (e: string, p: unknown) => Promise<unknown>)('terminal:rm-rf', {});
    expect(unknown).toMatchObject({ success: false, code: 'INVALID_PAYLOAD' });
    type(alice, out, 'echo survived');
    await out.waitForText(/[\r\n]survived\r\n/);
  });

  it('ignores resizes racing a shell that exits, and other sessions stream on (P03)', async () => {
    const alice = await connect('alice');
    const bystander = await openSession(alice);
    type(alice, bystander, 'for i in $(seq 1 40); do echo tick$i; sleep 0.02; done');
    for (let round = 0; round < 5; round++) {
      const doomed = await openSession(alice);
      type(alice, doomed, 'exit');
      for (let i = 0; i < 50; i++) {
        alice.emit('terminal:resize', { session_id: doomed.sessionId, cols: i % 2 ? 80 : 120, rows: i % 2 ? 24 : 40 });
        await new Promise((resolve) => setImmediate(resolve));
      }
      await waitFor(() => doomed.closed !== undefined, { message: 'the doomed session closed' });
    }
    await bystander.waitForText(/tick40\r\n/);
    const ticks = [...bystander.text.matchAll(/^tick(\d+)\r$/gm)].map((m) => Number(m[1]));
    expect(ticks).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('closes a detached session after the idle timeout, and everything it started (P05)', async () => {
    const marker = 100_000 + Math.floor(Math.random() * 800_000);
    const alice = await connect('alice');
    const out = await openSession(alice);
    type(alice, out, `sleep ${marker}1 & sleep ${marker}2 & echo started`);
    await out.waitForText(/[\r\n]started\r\n/);
    const running = () =>
      execFileSync('ps', ['-eo', 'args'])
        .toString()
        .split('\n')
        .filter((l) => l.startsWith(`sleep ${marker}`));
    // `started` can be printed before the second job has exec'd its sleep: wait for both.
    await waitFor(() => running().length === 2, { message: 'both background jobs running' });
    alice.close(); // detach without exit, as when the tab closes
    // Still there before the timeout: a reconnect could reattach.
    expect(system.terminalWorker.sessions.has(out.sessionId)).toBe(true);
    await waitFor(() => !system.terminalWorker.sessions.has(out.sessionId), { timeoutMs: SHORT_IDLE_MS * 4 });
    // Every socket of this file has closed by now: all their sessions time out the same way.
    await waitFor(() => system.terminalWorker.sessions.size === 0, { timeoutMs: SHORT_IDLE_MS * 4 });
    await waitFor(() => running().length === 0, { timeoutMs: 5000, message: 'background jobs killed' });
  });
});

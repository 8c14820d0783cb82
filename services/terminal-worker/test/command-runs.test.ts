import { isAlive, sessionMembers } from '../src/process-tree';
import type { TerminalBusReplies } from '@ctos/protocol';
import { OutputCollector, waitFor, type ClientSocket } from '@ctos/testkit';
import type { Transport } from '@ctos/transport';
import { attach, connectAs, openSession, type } from './harness';
import { BUILDS, startTerminalCluster, type TerminalCluster } from './terminal-cluster';

/** What the assistant's tools send (issue 18): the size a run's session starts at. */
const SIZE = { cols: 80, rows: 24 };

describe.each(BUILDS)('commands run for the assistant, and screens read for it (%s)', (build) => {
  let cluster: TerminalCluster;
  let ai: Transport;
  const sockets: ClientSocket[] = [];
  const connect = async (user: string) => {
    const socket = await connectAs(cluster.url, user);
    sockets.push(socket);
    return socket;
  };
  const request = <K extends keyof TerminalBusReplies>(body: { op: K } & Record<string, unknown>) =>
    ai.bus.request<TerminalBusReplies[K]>({ kind: 'terminal' }, body);
  const run = (user: string, command: string, limits = { timeout_ms: 30_000, max_output_bytes: 16_384 }) =>
    request({ op: 'run', user, command, ...SIZE, ...limits });

  beforeAll(async () => {
    cluster = await startTerminalCluster(build);
    ai = cluster.openTransport('ai');
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(() => cluster.stop());

  it('runs a command as a session of the user, which the page can attach to, and answers its exit code and output', async () => {
    const { session_id: sessionId } = await run('ann', 'uname -s; exit 3');
    const outcome = await request({ op: 'outcome', session_id: sessionId, user: 'ann' });
    expect(outcome).toMatchObject({ exit_code: 3, signal: null, timed_out: false, truncated: false });
    expect(outcome.output).toBe('Linux');
    expect(outcome.output_bytes).toBe(Buffer.byteLength('Linux\r\n'));
  });

  it('is listed and attachable while it runs, so the page can show it live', async () => {
    const { session_id: sessionId } = await run('ann', 'echo started; read line; echo "got $line"');
    const socket = await connect('ann');
    const list = await socket.emitWithAck('terminal:list', {});
    if (!list.success) throw new Error(list.error);
    expect(list.sessions.map((s: { session_id: string }) => s.session_id)).toContain(sessionId);
    const view = new OutputCollector(socket, sessionId);
    await attach(socket, view, 0);
    await view.waitForText(/started\r\n/);
    socket.emit('terminal:input', { session_id: sessionId, data: 'typed\r' });
    const outcome = await request({ op: 'outcome', session_id: sessionId, user: 'ann' });
    expect(outcome.exit_code).toBe(0);
    expect(outcome.output).toBe('started\ntyped\ngot typed');
  });

  it('kills a command at its timeout, with every process it started', async () => {
    const { session_id: sessionId } = await run('ann', 'sleep 300 & sleep 301', {
      timeout_ms: 300,
      max_output_bytes: 1000,
    });
    const session = cluster.terminalWorker.sessions.get(sessionId)!;
    const { pid, uid } = session;
    await waitFor(() => sessionMembers(pid, uid).length === 3, { message: 'the shell and both sleeps' });
    const started = sessionMembers(pid, uid);
    const outcome = await request({ op: 'outcome', session_id: sessionId, user: 'ann' });
    expect(outcome).toMatchObject({ exit_code: null, timed_out: true });
    await waitFor(() => started.every((member) => !isAlive(member)), { message: 'every process of the command gone' });
  });

  it('keeps the end of an output longer than the cap, in whole characters, and says it was cut', async () => {
    const command = 'for i in $(seq 1 2000); do echo "line $i 語😀"; done; echo END';
    const { session_id: sessionId } = await run('ann', command, { timeout_ms: 30_000, max_output_bytes: 1000 });
    const outcome = await request({ op: 'outcome', session_id: sessionId, user: 'ann' });
    expect(outcome.truncated).toBe(true);
    expect(Buffer.byteLength(outcome.output, 'utf8')).toBeLessThanOrEqual(1000);
    expect(outcome.output).toMatch(/line 2000 語😀\nEND$/);
    expect(outcome.output).not.toContain('\uFFFD');
    expect(outcome.output_bytes).toBeGreaterThan(2000 * 'line 1 語😀\r\n'.length);
  });

  it('fills the cap from the end of output of long lines, which wrap into many rows, and says it was cut', async () => {
    const command = "head -c 200000 /dev/zero | tr '\\0' a; echo; echo END";
    const { session_id: sessionId } = await run('ann', command, { timeout_ms: 30_000, max_output_bytes: 16_384 });
    const outcome = await request({ op: 'outcome', session_id: sessionId, user: 'ann' });
    expect(outcome).toMatchObject({ exit_code: 0, truncated: true });
    expect(outcome.output).toMatch(/^a+\nEND$/);
    expect(Buffer.byteLength(outcome.output)).toBe(16_384);
  });

  it('reads the screen of the user’s own session as text, and refuses another user’s', async () => {
    const socket = await connect('ann');
    const out = await openSession(socket);
    type(socket, out, "printf 'plain\\n\\033[31mred\\033[0m done\\n'");
    await out.waitForText(/red\x1b\[0m done\r\n/);
    const screen = await request({ op: 'screen', session_id: out.sessionId, user: 'ann', scrollback: 100 });
    expect(screen).toMatchObject({ session_id: out.sessionId, cols: 80, rows: 24 });
    expect(screen.text).toContain('plain\nred done\n');
    await expect(
      request({ op: 'screen', session_id: out.sessionId, user: 'bob', scrollback: 100 }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('answers another user’s run NOT_FOUND, and refuses a malformed run', async () => {
    const { session_id: sessionId } = await run('ann', 'true');
    await expect(request({ op: 'outcome', session_id: sessionId, user: 'bob' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    for (const bad of [
      { command: '' },
      { command: 'rm -rf /tmp/x\u0000/cache' }, // a NUL would run only what comes before it
      { timeout_ms: 2 ** 31 }, // beyond what a timer can wait: it would fire at once
      { max_output_bytes: 2 ** 30 },
    ]) {
      await expect(
        request({ op: 'run', user: 'ann', command: 'true', ...SIZE, timeout_ms: 1000, max_output_bytes: 10, ...bad }),
      ).rejects.toMatchObject({ code: 'INVALID_PAYLOAD' });
    }
    expect((await request({ op: 'outcome', session_id: sessionId, user: 'ann' })).exit_code).toBe(0);
  });
});

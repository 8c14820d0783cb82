import { Terminal } from '@xterm/headless';
import { OutputCollector, waitFor, type ClientSocket } from '@ctos/testkit';
import { floodCommand, unackedBound, windowsOfOutput } from './flow-bound';
import { attach, connectAs, openSession, type } from './harness';
import { BUILDS, startTerminalCluster, type TerminalCluster } from './terminal-cluster';

/** A tiny replay buffer, so "older than the buffer" is quick to reach. */
const REPLAY_BYTES = 4096;

/** The visible screen after writing `data` into a fresh 80×24 terminal. */
async function render(data: string): Promise<string[]> {
  const term = new Terminal({ cols: 80, rows: 24, allowProposedApi: true, scrollback: 1000 });
  await new Promise<void>((resolve) => term.write(data, resolve));
  const buffer = term.buffer.active;
  const lines: string[] = [];
  for (let y = 0; y < term.rows; y++) lines.push(buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '');
  term.dispose();
  return lines;
}

describe.each(BUILDS)('terminal replay and flow control (%s)', (build) => {
  let cluster: TerminalCluster;
  const sockets: ClientSocket[] = [];
  const connect = async (user = 'alice') => {
    const socket = await connectAs(cluster.url, user);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    cluster = await startTerminalCluster(build, {
      env: { TERMINAL_REPLAY_BYTES: String(REPLAY_BYTES) },
    });
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(() => cluster.stop());

  it('re-attaches after a dropped socket with every line once, in order (P06)', async () => {
    const first = await connect();
    const out = await openSession(first);
    type(first, out, 'for i in $(seq 1 150); do echo L$i; sleep 0.01; done; echo DONE');
    await out.waitForText(/L20\r\n/);
    first.close();
    const second = await connect();
    const answer = await attach(second, out, out.seq);
    expect(answer).toMatchObject({ success: true, snapshot: false });
    await out.waitForText(/[\r\n]DONE\r\n/, 20_000);
    const lines = [...out.text.matchAll(/^L(\d+)\r$/gm)].map((m) => Number(m[1]));
    expect(lines).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
  });

  it('shows two tabs of one user the same output', async () => {
    const tab1 = await connect();
    const tab2 = await connect();
    const out1 = await openSession(tab1);
    const out2 = new OutputCollector(tab2, out1.sessionId);
    await attach(tab2, out2, out1.seq);
    type(tab1, out1, 'echo from-tab-one');
    await out1.waitForText(/[\r\n]from-tab-one\r\n/);
    await out2.waitForText(/[\r\n]from-tab-one\r\n/);
  });

  it('gives a client older than the buffer a screen snapshot that renders like the whole stream', async () => {
    const watcher = await connect();
    const out = await openSession(watcher);
    type(
      watcher,
      out,
      'for i in $(seq 1 400); do echo "row $i $(printf "%0.s=" $(seq 1 30))"; done; printf "\\033[31mred\\033[0m 語😀\\n"; echo END',
    );
    // Up to the prompt after END: nothing more comes, so the attach sees what the watcher has.
    await out.waitForText(/[\r\n]END\r\n[^\r\n]*[$#] $/);
    expect(out.seq).toBeGreaterThan(REPLAY_BYTES * 2);
    const late = await connect();
    const answer = await late.emitWithAck('terminal:attach', { session_id: out.sessionId, since: 0 });
    if (!answer.success) throw new Error(answer.error);
    expect(answer.snapshot).toBe(true);
    expect(answer.seq).toBe(out.seq);
    const [seen, restored] = await Promise.all([render(out.text), render(answer.data)]);
    expect(restored).toEqual(seen);
    expect(restored.join('\n')).toContain('red 語😀');
  });

  it('pauses the PTY for a client that does not ack, within the high watermark plus one read, and resumes it on ack', async () => {
    const socket = await connect();
    const out = await openSession(socket, { flow_control: true });
    const session = () => cluster.terminalWorker.sessions.get(out.sessionId)!;
    const bound = unackedBound(cluster.config);
    const floodBytes = windowsOfOutput(cluster.config, 10);
    // Every wait also ends as soon as the worker's own account shows the bound broken.
    const overBound = () => session().flowReport().peakUnackedBytes > bound;
    type(socket, out, floodCommand(floodBytes));
    await waitFor(() => session().isPaused || overBound(), { message: 'the PTY paused' });
    expect(session().flowReport().peakUnackedBytes).toBeLessThanOrEqual(bound);
    expect(session().flowReport()).toMatchObject({ paused: true, pauses: 1, holders: [socket.id] });

    // The client has all that was sent and acks it: one ack buys one more window, then the
    // PTY pauses again. The stall limit (15 s) is beyond every wait here: only the ack resumes it.
    await waitFor(() => (session().flowReport().pendingBytes === 0 && out.seq === session().seq) || overBound(), {
      message: 'the client has what was sent',
    });
    socket.emit('terminal:ack', { session_id: out.sessionId, seq: out.seq });
    await waitFor(() => session().flowReport().pauses === 2 || overBound(), {
      message: 'paused again, a window later',
    });
    expect(session().flowReport().peakUnackedBytes).toBeLessThanOrEqual(bound);
    expect(session().flowReport()).toMatchObject({ paused: true, stallReleases: 0, holders: [socket.id] });
    expect(out.seq).toBeLessThan(floodBytes); // held, not done
    expect(await cluster.metric('ctos_terminal_flow_unacked_peak_bytes')).toBeLessThanOrEqual(bound);
    expect(await cluster.metric('ctos_terminal_flow_pauses_total')).toBeGreaterThanOrEqual(2);
    await socket.emitWithAck('terminal:close', { session_id: out.sessionId });
  });
});

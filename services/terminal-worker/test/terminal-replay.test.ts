import { Terminal } from '@xterm/headless';
import type { Embedded } from '@ctos/launcher';
import { OutputCollector, waitFor, type ClientSocket } from '@ctos/testkit';
import { attach, connectAs, openSession, startTestSystem, type } from './harness';

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

describe('terminal replay and flow control', () => {
  let system: Embedded;
  const sockets: ClientSocket[] = [];
  const connect = async (user = 'alice') => {
    const socket = await connectAs(system.url, user);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    system = await startTestSystem({ TERMINAL_REPLAY_BYTES: String(REPLAY_BYTES) });
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(() => system.stop());

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
    await out.waitForText(/[\r\n]END\r\n/);
    await new Promise((resolve) => setImmediate(resolve));
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

  it('pauses the PTY for a client that never acks, bounded in memory, and resumes on ack', async () => {
    const socket = await connect();
    const out = await openSession(socket, { flow_control: true });
    type(socket, out, 'yes');
    const session = () => system.terminalWorker.sessions.get(out.sessionId)!;
    await waitFor(() => session().isPaused, { message: 'the PTY paused' });
    const pausedAt = session().seq;
    const rss = process.memoryUsage().rss;
    await new Promise((resolve) => setTimeout(resolve, 3000)); // the quiet we are asserting
    expect(session().seq - pausedAt).toBeLessThan(200_000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 * 1024 * 1024);
    expect(session().isPaused).toBe(true);
    await waitFor(() => out.seq >= session().seq, { message: 'client has what was sent' });
    socket.emit('terminal:ack', { session_id: out.sessionId, seq: out.seq });
    // One ack buys one more high watermark of output, then the PTY pauses again.
    await waitFor(() => session().seq > pausedAt + 50_000, { message: 'output flows again after the ack' });
    await waitFor(() => session().isPaused, { message: 'paused again, a window later' });
    expect(session().seq - out.seq).toBeLessThan(200_000);
    socket.emit('terminal:input', { session_id: out.sessionId, data: '\x03' });
    await socket.emitWithAck('terminal:close', { session_id: out.sessionId });
  });
});

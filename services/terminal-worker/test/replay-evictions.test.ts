/**
 * Replay evictions and snapshot attaches, as the terminal-worker counts them (issue 21):
 * `ctos_terminal_replay_evicted_bytes_total` grows by exactly the bytes that leave a
 * session's replay buffer, `ctos_terminal_attach_snapshots_total{reason}` by one for each
 * attach answered with a snapshot, and both stay 0 while output fits the buffer and every
 * attach is answered with a replay. Real PTYs, a real gateway, real Socket.IO clients.
 */
import type { TerminalOutputEvent } from '@ctos/protocol';
import { waitFor, type ClientSocket, type OutputCollector } from '@ctos/testkit';
import { connectAs, openSession, type } from './harness';
import { BUILDS, startTerminalCluster, type TerminalCluster } from './terminal-cluster';

/** A tiny replay buffer (the setting's minimum is 1024), so evicting takes a few lines of output. */
const REPLAY_BYTES = 4096;
/** About three buffers of output: every line is 44 bytes or more. */
const FLOOD = 'for i in $(seq 1 300); do echo "row $i ........................................"; done; echo END';
/** The end of the flood, and bash's prompt after it: nothing more comes until the next input. */
const FLOOD_DONE = /[\r\n]END\r\n[^\r\n]*[$#] $/;

/** What the two counters say, the snapshots by reason. */
interface ReplayCounters {
  evictedBytes: number;
  snapshots: { evicted: number | undefined; no_position: number | undefined };
}

/**
 * Where a session's replay buffer starts once it holds output up to the last of `ends`
 * (every chunk's `seq`, which is where a buffer entry ends): the buffer evicts whole chunks,
 * oldest first, while it holds more than its capacity. That start is the bytes evicted.
 */
function expectedStart(ends: readonly number[], capacity: number): number {
  const end = Math.max(0, ...ends);
  return [0, ...ends].filter((boundary) => end - boundary <= capacity).reduce((a, b) => Math.min(a, b), end);
}

describe.each(BUILDS)('replay eviction metrics (%s)', (build) => {
  let cluster: TerminalCluster;
  const sockets: ClientSocket[] = [];
  /** Every `seq` each session's creating socket received, by session id. */
  const ends = new Map<string, Set<number>>();

  beforeAll(async () => {
    cluster = await startTerminalCluster(build, { env: { TERMINAL_REPLAY_BYTES: String(REPLAY_BYTES) } });
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(() => cluster.stop());

  const connect = async (): Promise<ClientSocket> => {
    const socket = await connectAs(cluster.url, 'alice');
    sockets.push(socket);
    return socket;
  };
  /** A new session whose every chunk end is recorded (the listener is on before the create). */
  const open = async (): Promise<{ socket: ClientSocket; out: OutputCollector }> => {
    const socket = await connect();
    socket.on('terminal:output', (event: TerminalOutputEvent) => {
      const seen = ends.get(event.session_id) ?? new Set<number>();
      ends.set(event.session_id, seen.add(event.seq));
    });
    return { socket, out: await openSession(socket) };
  };
  /** Waits until the client holds everything the session has sent. */
  const settled = (out: OutputCollector) =>
    waitFor(() => cluster.terminalWorker.sessions.get(out.sessionId)?.seq === out.seq, {
      message: 'the client to have all the output',
    });
  const counters = async (): Promise<ReplayCounters> => {
    const snapshots = await cluster.metrics.getSingleMetric('ctos_terminal_attach_snapshots_total')?.get();
    const byReason = (reason: string) => snapshots?.values.find((value) => value.labels.reason === reason)?.value;
    return {
      evictedBytes: await cluster.metric('ctos_terminal_replay_evicted_bytes_total'),
      snapshots: { evicted: byReason('evicted'), no_position: byReason('no_position') },
    };
  };
  const attachAnswer = async (session: string, since?: number) => {
    const socket = await connect();
    const answer = await socket.emitWithAck('terminal:attach', {
      session_id: session,
      ...(since === undefined ? {} : { since }),
    });
    if (!answer.success) throw new Error(`attach failed: ${answer.code} ${answer.error}`);
    return answer;
  };

  it('counts nothing while the output fits the buffer and every attach is answered with a replay', async () => {
    // Every reason is there at 0 before anything happened: rules can rate() the first one.
    expect(await counters()).toEqual({ evictedBytes: 0, snapshots: { evicted: 0, no_position: 0 } });
    const { socket, out } = await open();
    type(socket, out, 'echo fits-$((6 * 7))');
    await out.waitForText(/[\r\n]fits-42\r\n[^\r\n]*[$#] $/);
    await settled(out);
    expect(out.seq).toBeLessThan(REPLAY_BYTES);

    for (const since of [out.seq, 0, undefined]) {
      expect(await attachAnswer(out.sessionId, since)).toMatchObject({ snapshot: false, seq: out.seq });
    }
    expect(await counters()).toEqual({ evictedBytes: 0, snapshots: { evicted: 0, no_position: 0 } });
    await socket.emitWithAck('terminal:close', { session_id: out.sessionId });
  });

  it('counts exactly the bytes that leave the buffer, and a snapshot only for an attach the buffer no longer reaches', async () => {
    const before = await counters();
    const { socket, out } = await open();
    type(socket, out, FLOOD);
    await out.waitForText(FLOOD_DONE, 20_000);
    await settled(out);
    const evicted = expectedStart([...ends.get(out.sessionId)!], REPLAY_BYTES);
    expect(evicted).toBeGreaterThan(REPLAY_BYTES);
    // Evicting alone makes no snapshot.
    expect(await counters()).toEqual({ ...before, evictedBytes: before.evictedBytes + evicted });

    // The oldest position still held (the buffer's start is the bytes evicted; it can be
    // the end, when one coalesced chunk outgrew the buffer): a replay, nothing counted.
    expect(await attachAnswer(out.sessionId, evicted)).toMatchObject({ snapshot: false, seq: out.seq });
    expect((await counters()).snapshots).toEqual(before.snapshots);

    // One byte older, gone: one snapshot, `evicted`.
    expect(await attachAnswer(out.sessionId, evicted - 1)).toMatchObject({ snapshot: true, seq: out.seq });
    expect((await counters()).snapshots).toEqual({ ...before.snapshots, evicted: before.snapshots.evicted! + 1 });

    // No position (a restored window), and the original client's reconnect: `no_position`.
    expect(await attachAnswer(out.sessionId)).toMatchObject({ snapshot: true, seq: out.seq });
    const reconnected = await (await connect()).emitWithAck('terminal:reconnect', { session_id: out.sessionId });
    expect(reconnected.success).toBe(true);
    expect(await counters()).toEqual({
      evictedBytes: before.evictedBytes + evicted,
      snapshots: { evicted: before.snapshots.evicted! + 1, no_position: before.snapshots.no_position! + 2 },
    });
    await socket.emitWithAck('terminal:close', { session_id: out.sessionId });
  });
});

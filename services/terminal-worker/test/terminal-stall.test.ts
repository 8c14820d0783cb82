import { OutputCollector, waitFor, type ClientSocket } from '@ctos/testkit';
import { floodBytes, floodCommand, unackedBound, windowsOfOutput } from './flow-bound';
import { attach, connectAs, openSession, type } from './harness';
import { BUILDS, startTerminalCluster, type TerminalCluster } from './terminal-cluster';

/** How long a silent acking client may hold the PTY in this test (ms); default 15 s. Long enough that the acking owner, on a loaded 2-core machine, never looks silent. */
const STALL_MS = 3000;
/** High watermarks of output in each flood, so a silent viewer falls far behind. */
const FLOOD_WINDOWS = 6;
/** The flood's last line, as printed (the typed command's echo has a space before it). */
const FLOOD_DONE = /[\r\n]FLOOD-DONE\r\n/;
const STALL_RELEASES = 'ctos_terminal_flow_stall_releases_total';

describe.each(BUILDS)('a viewer that stops acking (%s)', (build) => {
  let cluster: TerminalCluster;
  const sockets: ClientSocket[] = [];
  const connect = async () => {
    const socket = await connectAs(cluster.url, 'alice');
    sockets.push(socket);
    return socket;
  };
  const reportOf = (sessionId: string) => () => cluster.terminalWorker.sessions.get(sessionId)!.flowReport();

  beforeAll(async () => {
    cluster = await startTerminalCluster(build, { env: { TERMINAL_FLOW_STALL_MS: String(STALL_MS) } });
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(() => cluster.stop());
  const floodSize = () => windowsOfOutput(cluster.config, FLOOD_WINDOWS);

  it('holds a flood within the high watermark plus one read until the stall limit, then lets it flow whole', async () => {
    const socket = await connect();
    const out = await openSession(socket, { flow_control: true }); // and never acks
    const report = reportOf(out.sessionId);
    const bound = unackedBound(cluster.config);
    const releasedBefore = await cluster.metric(STALL_RELEASES);
    type(socket, out, floodCommand(floodSize()));
    // Paused until the stall limit, the worker's own clock: a PTY still read meanwhile
    // would pass the bound, and the wait ends as soon as it does.
    await waitFor(() => report().stallReleases > 0 || report().peakUnackedBytes > bound, {
      message: 'the client released at the stall limit',
    });
    expect(report().peakUnackedBytes).toBeLessThanOrEqual(bound);
    expect(report().pauses).toBeGreaterThan(0);
    expect(report()).toMatchObject({ stallReleases: 1, holders: [] });
    expect(await cluster.metric(STALL_RELEASES)).toBe(releasedBefore + 1);
    await out.waitForText(FLOOD_DONE, 20_000);
    expect(floodBytes(out.text)).toBe(floodSize());
    expect(report().peakUnackedBytes).toBeLessThanOrEqual(bound);
    expect(await cluster.metric('ctos_terminal_flow_unacked_peak_bytes')).toBeLessThanOrEqual(bound);
  });

  it('is alone in holding the PTY paused until the stall limit, then stops holding it, and the viewer that acks gets everything', async () => {
    const owner = await connect();
    const hung = await connect();
    const out = await openSession(owner, { flow_control: true });
    const hungView = new OutputCollector(hung, out.sessionId);
    await attach(hung, hungView, 0); // attaches with flow control and never acks
    // The owner acks everything it renders, as the page does.
    owner.on('terminal:output', (event) =>
      owner.emit('terminal:ack', { session_id: event.session_id, seq: event.seq }),
    );
    const report = reportOf(out.sessionId);
    const releasedBefore = await cluster.metric(STALL_RELEASES);
    type(owner, out, floodCommand(floodSize()));

    // The owner keeps up: once it has acked what was sent, the silent viewer alone keeps the PTY paused.
    await waitFor(
      () => {
        const now = report();
        return (now.paused && now.holders.length === 1) || now.stallReleases > 0 || FLOOD_DONE.test(out.text);
      },
      { message: 'the PTY paused, held by one viewer' },
    );
    expect(report()).toMatchObject({ paused: true, holders: [hung.id], stallReleases: 0 });

    // At the stall limit the worker stops letting it hold: still attached, no longer flow-controlled.
    await waitFor(() => report().stallReleases > 0, { message: 'the silent viewer released at the stall limit' });
    const released = report();
    // It held for real: the PTY was not read while paused, so the silent viewer is at most a window behind.
    expect(released.peakUnackedBytes).toBeLessThanOrEqual(unackedBound(cluster.config));
    expect(released.stallReleases).toBe(1);
    expect(await cluster.metric(STALL_RELEASES)).toBe(releasedBefore + 1);
    expect(released.holders).not.toContain(hung.id);
    expect(released.attachments).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ socket: hung.id, flowControl: false }),
        expect.objectContaining({ socket: owner.id, flowControl: true }),
      ]),
    );

    // The PTY resumed for the owner: the rest of the flood reaches it, whole.
    await out.waitForText(FLOOD_DONE, 20_000);
    expect(floodBytes(out.text)).toBe(floodSize());
    await waitFor(() => !report().paused, { message: 'the PTY running once the owner has acked all' });
    expect(report().stallReleases).toBe(1);
    await hungView.waitForText(FLOOD_DONE); // the released viewer still receives output
  });

  it('reads one more window at most after a shell dies while paused, when a job it left behind floods on', async () => {
    const socket = await connect();
    const out = await openSession(socket, { flow_control: true }); // and never acks
    const session = cluster.terminalWorker.sessions.get(out.sessionId)!;
    const closed = new Promise((resolve) => socket.once('terminal:closed', resolve));
    // The shell waits until the flood has paused the PTY, then dies; `yes` writes on.
    type(socket, out, 'yes ORPHAN-FLOOD & sleep 1; kill -9 $$');
    await closed;
    expect(session.flowReport().pauses).toBeGreaterThan(0);
    const oneMoreWindow = cluster.config.TERMINAL_FLOW_HIGH_BYTES;
    expect(session.flowReport().peakUnackedBytes).toBeLessThanOrEqual(unackedBound(cluster.config) + oneMoreWindow);
  });
});

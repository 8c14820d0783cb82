import type { Embedded } from '@ctos/launcher';
import { OutputCollector, waitFor, type ClientSocket } from '@ctos/testkit';
import { attach, connectAs, openSession, startTestSystem, type } from './harness';

/** How long a silent acking client may hold the PTY in this test (ms); default 15 s. */
const STALL_MS = 1000;

describe('a viewer that stops acking', () => {
  let system: Embedded;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    system = await startTestSystem({ TERMINAL_FLOW_STALL_MS: String(STALL_MS) });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await system.stop();
  });

  it('stops holding the PTY after the stall limit, so the viewer that acks gets everything', async () => {
    const owner = await connectAs(system.url, 'alice');
    const hung = await connectAs(system.url, 'alice');
    sockets.push(owner, hung);
    const out = await openSession(owner, { flow_control: true });
    const hungView = new OutputCollector(hung, out.sessionId);
    await attach(hung, hungView, 0); // attaches with flow control and never acks
    // The owner acks everything it renders, as the page does.
    owner.on('terminal:output', (event) =>
      owner.emit('terminal:ack', { session_id: event.session_id, seq: event.seq }),
    );
    type(owner, out, "head -c 600000 /dev/zero | tr '\\0' z; echo; echo FLOOD-DONE");
    await out.waitForText(/[\r\n]FLOOD-DONE\r\n/, 20_000);
    expect((out.text.match(/z{3,}/g) ?? []).join('').length).toBe(600_000);
    expect(system.terminalWorker.sessions.get(out.sessionId)?.isPaused).toBe(false);
    await waitFor(() => hungView.text.includes('FLOOD-DONE'), { message: 'the hung view still receives output' });
  });
});

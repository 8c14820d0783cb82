/**
 * `terminal:closed` reaches the socket that closed the session, whatever the order in
 * which the gateway hears the worker's answer and the worker's room event (over Redis
 * they travel on different connections). Here the event is held until the answer is in.
 */
import type { TerminalClosedEvent } from '@ctos/protocol';
import { Gate, waitFor, type ClientSocket } from '@ctos/testkit';
import type { Transport } from '@ctos/transport';
import { connectAs, openSession } from './harness';
import { BUILDS, startTerminalCluster, type TerminalCluster } from './terminal-cluster';

/** `transport` whose `terminal:closed` room emits each pass `gate` first. */
function gatedClosedEvents(transport: Transport, gate: Gate): Transport {
  const emitter = new Proxy(transport.emitter, {
    get: (target, name, receiver) => {
      if (name !== 'emit') return Reflect.get(target, name, receiver) as unknown;
      return async (room: string, event: string, ...rest: unknown[]) => {
        if (event === 'terminal:closed') await gate.pass();
        return (target.emit as (...args: unknown[]) => unknown).call(target, room, event, ...rest);
      };
    },
  });
  return new Proxy(transport, { get: (target, name) => (name === 'emitter' ? emitter : Reflect.get(target, name)) });
}

describe.each(BUILDS)('closing a session (%s)', (build) => {
  const gate = new Gate();
  let cluster: TerminalCluster;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    cluster = await startTerminalCluster(build, { workerTransport: (transport) => gatedClosedEvents(transport, gate) });
  });
  afterEach(() => {
    gate.open();
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(() => cluster.stop());

  it('tells the closing socket terminal:closed even when the answer to its close comes first', async () => {
    const socket = await connectAs(cluster.url, 'alice');
    sockets.push(socket);
    const out = await openSession(socket);
    const closed: TerminalClosedEvent[] = [];
    socket.on('terminal:closed', (event) => closed.push(event));

    gate.close();
    const answer = await socket.timeout(10_000).emitWithAck('terminal:close', { session_id: out.sessionId });
    expect(answer).toEqual({ success: true });
    expect(gate.held).toBe(1); // the event is still at the worker: the answer came first
    gate.open();
    await waitFor(() => closed.length > 0, { message: 'terminal:closed after the close was answered' });
    expect(closed).toEqual([{ session_id: out.sessionId, reason: 'closed' }]);
  });
});

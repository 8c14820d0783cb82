import type { TerminalBusMessage, TerminalBusReplies } from '@ctos/protocol';
import { createLogger } from '@ctos/runtime';
import { BUILDS, transportFactory, waitFor, type TransportFactory } from '@ctos/testkit';
import { busClient } from '@ctos/transport';
import { Registry } from 'prom-client';
import { createTerminalWorker, loadTerminalWorkerConfig, type TerminalWorker } from '../src';
import { deferred, gatedDeaths, Hold, withParts } from './gates';

/** Quick beats: a gateway is declared dead a few hundred ms after it stops beating. */
const HEARTBEAT = { intervalMs: 200, missedBeats: 3 };
const WORKER = 'worker-under-test';
const GATEWAY = 'gateway-declared-dead';

// In-process, with the worker's death listener held: the gateway's death is heard, and a
// client's attach through that gateway (as after its `connection:resync`) is processed
// before the worker handles it.
describe.each(BUILDS)('attachments through a gateway declared dead (%s)', (build) => {
  let factory: TransportFactory;
  let worker: TerminalWorker;
  let deathHeld: Hold;
  let deathHandled: ReturnType<typeof deferred>;

  beforeEach(() => {
    factory = transportFactory(build, HEARTBEAT, 'gateway-death');
    deathHeld = new Hold();
    deathHandled = deferred();
    const transport = factory.open(WORKER);
    const registry = gatedDeaths(
      transport.registry,
      (dead) => (dead.kind === 'gateway' ? deathHeld.pass() : Promise.resolve()),
      () => deathHandled.open(),
    );
    worker = createTerminalWorker({
      id: WORKER,
      transport: withParts(transport, { registry }),
      config: loadTerminalWorkerConfig({ TERMINAL_SHELL: '/bin/bash', TERMINAL_SHELL_ARGS: '--norc --noprofile' }),
      logger: createLogger({ service: 'terminal-worker', level: 'silent' }),
      metrics: new Registry(),
    });
    worker.start();
  });
  afterEach(async () => {
    deathHeld.release();
    await worker.drain();
    await factory.cleanup();
  });

  it('keeps an attachment made after the death was declared, and drops those made before', async () => {
    const dying = factory.open(GATEWAY);
    dying.registry.announce({ id: GATEWAY, kind: 'gateway', capacity: 10, load: () => 0 });
    const client = factory.open('client');
    const bus = busClient<TerminalBusMessage, TerminalBusReplies>(client.bus);
    await waitFor(async () => (await client.registry.live('gateway')).some((g) => g.id === GATEWAY));
    const attacher = { user: 'alice', gateway: GATEWAY, flow_control: true };
    const { session_id } = await bus.request(
      { worker: WORKER },
      { op: 'create', socket: 'before', cols: 80, rows: 24, ...attacher },
    );
    await bus.send(WORKER, { op: 'release', session_id, socket: 'before' });

    await dying.dispose(); // beats stop without leaving, as when its event loop stalls
    await deathHeld.reached;
    await bus.request({ worker: WORKER }, { op: 'attach', session_id, socket: 'after', ...attacher });
    await bus.send(WORKER, { op: 'release', session_id, socket: 'after' });
    await bus.request({ worker: WORKER }, { op: 'info', session_ids: [session_id], user: 'alice' });
    const session = worker.sessions.get(session_id)!;
    expect(session.flowReport().attachments.map((a) => a.socket)).toEqual(['before', 'after']);

    deathHeld.release();
    await deathHandled.promise;
    expect(session.flowReport().attachments.map((a) => a.socket)).toEqual(['after']);
  });
});

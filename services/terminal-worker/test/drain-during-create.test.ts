import { randomUUID } from 'node:crypto';
import type { TerminalBusMessage, TerminalBusReplies } from '@ctos/protocol';
import { createLogger } from '@ctos/runtime';
import { BUILDS, transportFactory, waitFor, type TransportFactory } from '@ctos/testkit';
import { busClient, SessionDirectory, type Transport } from '@ctos/transport';
import { Registry } from 'prom-client';
import { createTerminalWorker, loadTerminalWorkerConfig, type TerminalWorker } from '../src';
import type { ShellIsolation } from '../src/shell-isolation';
import { shellSpec } from '../src/shell-env';
import { gatedStore, Hold, processesMarked, withParts } from './gates';

const HEARTBEAT = { intervalMs: 1000, missedBeats: 3 };
const WORKER = 'worker-under-test';
/** A shell that ignores SIGHUP (as do its children): only a SIGKILL ends it. */
const HANGUP_PROOF = ["trap '' HUP; while :; do sleep 1; done"];

/** Where a create waits while the drain begins, and what the isolation hears by the end. */
const HOLD_POINTS = [
  { point: "reading the user's sessions", calls: ['dispose'] },
  { point: 'preparing the shell', calls: ['shellFor alice', 'dispose'] },
  // Its shell was started and is ended: the user's last close reaches the isolation.
  { point: 'registering the session', calls: ['shellFor alice', 'userGone alice', 'dispose'] },
] as const;
type HoldPoint = (typeof HOLD_POINTS)[number]['point'];

// In-process with a hand-made isolation and a store whose calls are held at chosen points:
// the create must be caught between its awaits when the drain begins.
describe.each(BUILDS)('a drain that begins during a create (%s)', (build) => {
  let factory: TransportFactory;
  let worker: TerminalWorker;
  let observer: Transport;
  /** In the environment of every shell this test starts, to find them on the system. */
  let mark: string;
  /** What the worker asked of its isolation, in order. */
  let calls: string[];
  let hold: Hold;
  let heldAt: HoldPoint | undefined;

  beforeEach(() => {
    factory = transportFactory(build, HEARTBEAT, 'drain-create');
    mark = `CTOS_TEST_MARK=${randomUUID()}`;
    calls = [];
    hold = new Hold();
    heldAt = undefined;
    const config = loadTerminalWorkerConfig({ TERMINAL_SHELL: '/bin/bash', TERMINAL_SHELL_ARGS: '--norc --noprofile' });
    const [name, value] = mark.split('=') as [string, string];
    const isolation: ShellIsolation = {
      async shellFor(user) {
        calls.push(`shellFor ${user}`);
        if (heldAt === 'preparing the shell') await hold.pass();
        const spec = shellSpec(config);
        return { ...spec, file: '/bin/sh', args: ['-c', ...HANGUP_PROOF], env: { ...spec.env, [name]: value } };
      },
      userGone: (user) => calls.push(`userGone ${user}`),
      dispose: () => calls.push('dispose'),
    };
    const held = (point: HoldPoint) => () => (heldAt === point ? hold.pass() : Promise.resolve());
    const transport = factory.open(WORKER);
    let store = gatedStore(transport.store, 'smembers', ':u:', held("reading the user's sessions"));
    store = gatedStore(store, 'hset', ':s:', held('registering the session'));
    worker = createTerminalWorker({
      id: WORKER,
      transport: withParts(transport, { store }),
      config,
      logger: createLogger({ service: 'terminal-worker', level: 'silent' }),
      metrics: new Registry(),
      isolation,
    });
    worker.start();
    observer = factory.open('observer');
  });
  afterEach(async () => {
    hold.release();
    await worker.drain();
    for (const pid of processesMarked(mark)) process.kill(pid, 'SIGKILL'); // only if the test failed
    await factory.cleanup();
  });

  const listed = async (): Promise<boolean> =>
    (await observer.registry.live('terminal')).some((instance) => instance.id === WORKER);

  it.each(HOLD_POINTS)(
    'refuses a create held at $point, as retryable, and leaves nothing running or registered',
    async ({ point, calls: expected }) => {
      const bus = busClient<TerminalBusMessage, TerminalBusReplies>(factory.open('gateway').bus);
      await waitFor(listed, { message: 'the worker in the registry' });
      heldAt = point;
      const answer = bus
        .request(
          { worker: WORKER },
          { op: 'create', user: 'alice', socket: 's', gateway: 'g', flow_control: false, cols: 80, rows: 24 },
        )
        .catch((error: unknown) => error);
      await hold.reached;
      const drained = worker.drain();
      // Gone from the registry: a drain that did not wait for the create would be over by now.
      await waitFor(async () => !(await listed()), { message: 'the worker out of the registry' });
      hold.release();
      await drained;

      expect(await answer).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/try again/) });
      expect(worker.sessions.size).toBe(0);
      // Killed by the drain itself (the shell ignores the hangup); the kernel may take a moment.
      await waitFor(() => processesMarked(mark).length === 0, { message: 'no shell of this test running' });
      expect(await new SessionDirectory(observer.store, 'term').forUser('alice')).toEqual([]);
      // Nothing reaches the isolation after it was disposed.
      expect(calls).toEqual(expected);
    },
  );
});

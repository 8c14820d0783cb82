import { ServiceError, type TerminalBusMessage, type TerminalBusReplies } from '@ctos/protocol';
import { createLogger, createMetricsRegistry } from '@ctos/runtime';
import { BUILDS, transportFactory, waitFor, type TransportFactory } from '@ctos/testkit';
import { busClient } from '@ctos/transport';
import { createTerminalWorker, loadTerminalWorkerConfig, type TerminalWorker } from '../src';
import type { ShellIsolation } from '../src/shell-isolation';
import { shellSpec } from '../src/shell-env';

const HEARTBEAT = { intervalMs: 1000, missedBeats: 3 };

describe.each(BUILDS)("a user's last close on a worker (%s)", (build) => {
  let factory: TransportFactory;
  let worker: TerminalWorker;
  /** Users whose leftovers the worker ended, in order. */
  const gone: string[] = [];
  /** The worker's log lines. */
  const lines: string[] = [];
  /** The next shell for a user waits for this, then fails when it is set to fail. */
  let gate: { wait: Promise<void>; open: () => void; fail: boolean } | undefined;

  beforeEach(() => {
    gone.length = 0;
    lines.length = 0;
    factory = transportFactory(build, HEARTBEAT, 'last-close');
    const config = loadTerminalWorkerConfig({
      TERMINAL_SHELL: '/bin/bash',
      TERMINAL_SHELL_ARGS: '--norc --noprofile',
      TERMINAL_MAX_SESSIONS_PER_USER: '5',
    });
    const isolation: ShellIsolation = {
      async shellFor() {
        const current = gate;
        if (current) {
          await current.wait;
          if (current.fail) throw new ServiceError('UNAVAILABLE', 'No shell today.');
        }
        return shellSpec(config);
      },
      userGone: (user) => gone.push(user),
      dispose: () => undefined,
    };
    worker = createTerminalWorker({
      id: 'worker-under-test',
      transport: factory.open('worker-under-test'),
      config,
      logger: createLogger({
        service: 'terminal-worker',
        level: 'debug',
        destination: { write: (line: string) => void lines.push(line) },
      }),
      metrics: createMetricsRegistry('terminal-worker'),
      isolation,
    });
    worker.start();
  });
  afterEach(async () => {
    gate?.open();
    await worker.drain();
    await factory.cleanup();
  });

  const client = () => busClient<TerminalBusMessage, TerminalBusReplies>(factory.open(`gateway-${Math.random()}`).bus);
  const create = (bus: ReturnType<typeof client>) =>
    bus.request(
      { worker: 'worker-under-test' },
      { op: 'create', user: 'alice', socket: 's', gateway: 'g', flow_control: false, cols: 80, rows: 24 },
    );

  it('ends what the user left once the grace is over', async () => {
    const bus = client();
    const { session_id } = await create(bus);
    await bus.request({ worker: 'worker-under-test' }, { op: 'close', session_id, user: 'alice' });
    await waitFor(() => gone.includes('alice'));
  });

  it('still ends it when a create of theirs was under way at that moment and then failed', async () => {
    const bus = client();
    const { session_id } = await create(bus);
    let open!: () => void;
    gate = { wait: new Promise<void>((resolve) => (open = resolve)), open: () => open(), fail: true };
    const failing = create(bus).catch((error: unknown) => error);
    await bus.request({ worker: 'worker-under-test' }, { op: 'close', session_id, user: 'alice' });
    // The grace passes while the create is still under way: nothing may be ended yet.
    await waitFor(() => lines.some((line) => line.includes('last close during a create')), { timeoutMs: 5000 });
    expect(gone).toEqual([]);
    gate.open();
    expect(await failing).toMatchObject({ code: 'UNAVAILABLE' });
    await waitFor(() => gone.includes('alice'));
  });
});

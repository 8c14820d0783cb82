import type { TerminalBusMessage, TerminalBusReplies } from '@ctos/protocol';
import { createLogger } from '@ctos/runtime';
import { BUILDS, transportFactory, waitFor, type TransportFactory } from '@ctos/testkit';
import { busClient, type KeyValueStore, type Transport } from '@ctos/transport';
import { Registry } from 'prom-client';
import { createTerminalWorker, loadTerminalWorkerConfig, type TerminalWorker } from '../src';
import type { ShellIsolation } from '../src/shell-isolation';
import { shellSpec } from '../src/shell-env';
import { withParts } from './gates';

const HEARTBEAT = { intervalMs: 1000, missedBeats: 3 };
const WORKER = 'worker-under-test';
/** Sessions per user in this test. */
const LIMIT = 2;

/** A promise and the function that settles it. */
function deferred(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** `transport` with its store's reads of a user's session set passed through `gate` first. */
function gatedReads(transport: Transport, gate: (read: () => Promise<string[]>) => Promise<string[]>): Transport {
  const store = new Proxy(transport.store, {
    get(target, property) {
      if (property === 'smembers') {
        return (key: string) => (key.includes(':u:') ? gate(() => target.smembers(key)) : target.smembers(key));
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as KeyValueStore;
  return withParts(transport, { store });
}

// In-process with a hand-made store and isolation: the race needs the worker's own reads
// held at chosen points, which only a test that composes the worker itself can do.
describe.each(BUILDS)("a user's session limit (%s)", (build) => {
  let factory: TransportFactory;
  let worker: TerminalWorker;
  /** Reads of a user's sessions wait here, from the second on. */
  const secondRead = { started: deferred(), release: deferred() };
  let reads = 0;
  /** The first shell waits until the second create is reading. */
  let firstShell: Promise<void> | undefined;

  beforeEach(() => {
    factory = transportFactory(build, HEARTBEAT, 'session-limit');
    const config = loadTerminalWorkerConfig({
      TERMINAL_SHELL: '/bin/bash',
      TERMINAL_SHELL_ARGS: '--norc --noprofile',
      TERMINAL_MAX_SESSIONS_PER_USER: String(LIMIT),
    });
    const isolation: ShellIsolation = {
      async shellFor() {
        const wait = firstShell;
        firstShell = undefined;
        await wait;
        return shellSpec(config);
      },
      userGone: () => undefined,
      dispose: () => undefined,
    };
    const transport = gatedReads(factory.open(WORKER), async (read) => {
      if (++reads === 2) {
        secondRead.started.open();
        await secondRead.release.promise;
      }
      return read();
    });
    worker = createTerminalWorker({
      id: WORKER,
      transport,
      config,
      logger: createLogger({ service: 'terminal-worker', level: 'silent' }),
      metrics: new Registry(),
      isolation,
    });
    worker.start();
  });
  afterEach(async () => {
    secondRead.release.open();
    await worker.drain();
    await factory.cleanup();
  });

  it('lets a create through whose count was read after a concurrent one had registered, and no more', async () => {
    const bus = busClient<TerminalBusMessage, TerminalBusReplies>(factory.open('gateway').bus);
    const create = () =>
      bus.request(
        { worker: WORKER },
        { op: 'create', user: 'alice', socket: 's', gateway: 'g', flow_control: false, cols: 80, rows: 24 },
      );
    firstShell = secondRead.started.promise;
    const first = create();
    const second = create().catch((error: unknown) => error);
    // The first starts its shell only once the second is counting; the second's count is
    // read only once the first is registered: the first is both under way and in the directory.
    const { session_id: firstId } = await first;
    secondRead.release.open();
    const answer = await second;
    expect(answer).toMatchObject({ session_id: expect.any(String) });
    await waitFor(() => worker.sessions.size === LIMIT, { message: `${LIMIT} sessions` });
    expect(worker.sessions.has(firstId)).toBe(true);
    await expect(create()).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });
});

import { deletePrefix, SHARED_REDIS_URL, uniquePrefix, waitFor, waitForValue } from '@ctos/testkit';
import {
  createMemoryTransport,
  createRedisTransport,
  HeartbeatRegistry,
  MemoryCluster,
  type DeadInstance,
  type HeartbeatOptions,
  type RegistryBackend,
  type Transport,
} from '@ctos/transport';

const HEARTBEAT: HeartbeatOptions = { intervalMs: 100, missedBeats: 3 };

type DeathNotice = Parameters<RegistryBackend['publishDeath']>[0];

/** A backend whose clock the test sets and whose deaths the test delivers, when it likes. */
class HandBackend implements RegistryBackend {
  /** The backend's clock (ms), as its sweeps report it. */
  now = 1_000_000_000;
  /** When the first sweep was asked for, on the test's `performance.now()` clock. */
  firstSweepAt: number | undefined;
  sweeps = 0;
  deliver: ((notice: DeathNotice) => void) | undefined;

  beat = () => Promise.resolve('absent' as const);
  remove = () => Promise.resolve();
  list = () => Promise.resolve([]);
  reap = () => {
    this.firstSweepAt ??= performance.now();
    this.sweeps++;
    return Promise.resolve({ at: this.now, dead: [] });
  };
  publishDeath = () => Promise.resolve();
  subscribeDeaths = (listener: (notice: DeathNotice) => void) => {
    this.deliver = listener;
    return Promise.resolve(() => undefined);
  };
  dispose = () => Promise.resolve();
}

describe('when a death was declared, as a registry tells its listeners', () => {
  let backend: HandBackend;
  let registry: HeartbeatRegistry;
  let heard: DeadInstance[];

  beforeEach(async () => {
    backend = new HandBackend();
    registry = new HeartbeatRegistry(backend, HEARTBEAT);
    heard = [];
    registry.onDeath((dead) => heard.push(dead));
    await waitFor(() => backend.sweeps >= 2, { message: 'two sweeps answered' });
  });
  afterEach(() => registry.dispose());

  it("places a death announced late where the backend's clock puts it, not where it arrived", () => {
    const firstSweepAt = backend.firstSweepAt!;
    // Declared five seconds (of the backend's clock) before the sweeps' answers.
    backend.deliver!({ id: 'w1', kind: 'gateway', declaredAt: backend.now - 5000 });
    const deliveredAt = performance.now();
    const { declaredAt } = heard[0]!;
    // Each answer was received between its sweep's start and now; one millisecond more
    // for the backend's whole-millisecond readings.
    expect(declaredAt).toBeGreaterThanOrEqual(firstSweepAt - 5000 + 1);
    expect(declaredAt).toBeLessThanOrEqual(deliveredAt - 5000 + 1);
  });

  it('never places a death after it was heard, nor guesses without the time of the backend', () => {
    const before = performance.now();
    backend.deliver!({ id: 'w1', kind: 'gateway', declaredAt: backend.now + 60_000 });
    backend.deliver!({ id: 'w2', kind: 'gateway' }); // announced by an older version
    const after = performance.now();
    for (const { declaredAt } of heard) {
      expect(declaredAt).toBeGreaterThanOrEqual(before);
      expect(declaredAt).toBeLessThanOrEqual(after);
    }
    expect(heard.map((dead) => dead.id)).toEqual(['w1', 'w2']);
  });
});

const builds: Array<{ name: string; make: () => { open(id: string): Transport; cleanup(): Promise<void> } }> = [
  {
    name: 'memory',
    make: () => {
      const cluster = new MemoryCluster(HEARTBEAT);
      return { open: (id) => createMemoryTransport(cluster, { id }), cleanup: () => Promise.resolve() };
    },
  },
  {
    name: 'redis',
    make: () => {
      const prefix = uniquePrefix('death-time');
      return {
        open: (id) => createRedisTransport({ redis: { url: SHARED_REDIS_URL }, prefix, id, heartbeat: HEARTBEAT }),
        cleanup: () => deletePrefix(SHARED_REDIS_URL, prefix),
      };
    },
  },
];

describe.each(builds)('the time of a death heard from the backend ($name)', ({ make }) => {
  it('is after the instance stopped beating and no later than when it was heard', async () => {
    const build = make();
    const doomed = build.open('w1');
    const observer = build.open('observer');
    try {
      let heard: { dead: DeadInstance; at: number } | undefined;
      observer.registry.onDeath((dead) => (heard = { dead, at: performance.now() }));
      doomed.registry.announce({ id: 'w1', kind: 'terminal', capacity: 1, load: () => 0 });
      await waitFor(async () => (await observer.registry.live('terminal')).length === 1);
      const stoppedAt = performance.now();
      await doomed.dispose(); // beats stop, as when the process is killed
      const { dead, at } = await waitForValue(() => heard, { message: 'the death heard' });
      expect(dead.id).toBe('w1');
      expect(dead.declaredAt).toBeGreaterThan(stoppedAt);
      expect(dead.declaredAt).toBeLessThanOrEqual(at);
    } finally {
      await observer.dispose();
      await doomed.dispose();
      await build.cleanup();
    }
  });
});

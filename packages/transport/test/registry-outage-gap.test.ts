/**
 * The reaper after an outage shorter than the death deadline (a Sentinel failover of about
 * 2 s beside a 3 s deadline): an instance that beat just before the outage is older than
 * the deadline at the first sweep after it, though it could not beat meanwhile. It must
 * not be declared dead; one that stays silent through the grace after the outage must.
 * Found by a newcomer's `kill -9` of the primary: live workers were reaped, a shell closed.
 */
import { deletePrefix, SHARED_REDIS_URL, uniquePrefix } from '@ctos/testkit';
import { MemoryNetwork, RedisKeys, type RegistryBackend, type WorkerInfo } from '@ctos/transport';
import { Redis } from 'ioredis';
import { redisRegistryBackend } from '../src/redis/redis-registry';
import { Subscriber } from '../src/redis/subscriber';

/** The registry's timing here: a beat every 200 ms, dead after 1,000 ms without one. */
const INTERVAL_MS = 200;
const DEADLINE_MS = 1000;
const GRACE_MS = 500;
const WORKER: WorkerInfo = { id: 'worker-early-beat', kind: 'terminal', load: 0, capacity: 10 };

/** One backend under test, with a way to let time pass on its clock. */
interface Subject {
  backend: RegistryBackend;
  pass(ms: number): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The scenario on `subject`: a sweep, a beat, another sweep 300 ms later (the last before
 * the outage), then 800 ms with no sweep and no beat (the outage: longer than one beat,
 * shorter than the deadline), so the worker's last beat is 1,100 ms old at the next sweep.
 */
async function outageShorterThanDeadline(subject: Subject): Promise<Array<{ id: string }>> {
  const { backend, pass } = subject;
  await backend.reap(DEADLINE_MS, INTERVAL_MS, GRACE_MS);
  expect(await backend.beat(WORKER, DEADLINE_MS * 2)).toBe('absent');
  await pass(300);
  expect((await backend.reap(DEADLINE_MS, INTERVAL_MS, GRACE_MS)).dead).toEqual([]);
  await pass(800);
  return (await backend.reap(DEADLINE_MS, INTERVAL_MS, GRACE_MS)).dead;
}

/** Sweeps every 100 ms, at most `most` times, until one declares someone dead: whom, and after how many sweeps. */
async function sweepUntilDead(subject: Subject, most: number): Promise<{ dead: Array<{ id: string }>; after: number }> {
  for (let swept = 1; swept <= most; swept++) {
    await subject.pass(100);
    const { dead } = await subject.backend.reap(DEADLINE_MS, INTERVAL_MS, GRACE_MS);
    if (dead.length > 0) return { dead, after: swept };
  }
  return { dead: [], after: most };
}

describe.each(['memory', 'redis'] as const)('the reaper after an outage shorter than the deadline (%s)', (build) => {
  let subject: Subject;
  let cleanup: () => Promise<void>;

  beforeEach(() => {
    if (build === 'memory') {
      let now = 1_000_000;
      const network = new MemoryNetwork(() => now);
      subject = {
        backend: network.registryBackend(),
        pass: async (ms) => {
          now += ms;
        },
      };
      cleanup = async () => undefined;
    } else {
      const prefix = uniquePrefix('reap-gap');
      const redis = new Redis(SHARED_REDIS_URL);
      const subscription = new Redis(SHARED_REDIS_URL);
      subject = {
        backend: redisRegistryBackend(redis, new Subscriber(subscription), new RedisKeys(prefix)),
        pass: sleep,
      };
      cleanup = async () => {
        redis.disconnect();
        subscription.disconnect();
        await deletePrefix(SHARED_REDIS_URL, prefix);
      };
    }
  });
  afterEach(() => cleanup());

  it('declares nobody dead at the first sweep after it, and a silent instance dead once the grace is over', async () => {
    // On Redis the sleeps are minimums: the outage may last longer, never shorter.
    expect(await outageShorterThanDeadline(subject)).toEqual([]);
    // It never beats again; swept every 100 ms from now on, as live processes do: dead once
    // the grace after the outage has passed, and not before.
    const found = await sweepUntilDead(subject, 40);
    expect(found.dead).toEqual([{ id: WORKER.id, kind: WORKER.kind }]);
    // On the hand-set clock, exactly: the sweep 500 ms (the grace) after the outage. Real
    // sleeps only last at least their time, and a late one is a gap of its own.
    if (build === 'memory') expect(found.after).toBe(5);
  });

  it('still declares an instance dead on time when the sweeps were regular', async () => {
    await subject.backend.reap(DEADLINE_MS, INTERVAL_MS, GRACE_MS);
    await subject.backend.beat(WORKER, DEADLINE_MS * 2);
    // Its beat passes the deadline during the tenth sweep, 1,000 ms on.
    const found = await sweepUntilDead(subject, 40);
    expect(found.dead).toEqual([{ id: WORKER.id, kind: WORKER.kind }]);
    if (build === 'memory') expect(found.after).toBe(10);
  });
});

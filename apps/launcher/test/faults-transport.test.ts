/**
 * Issue 10, the transport under Redis faults, below the services: a bus reader whose
 * inbox comes back without what it had read, a process that starts while Redis is down,
 * and a send during an outage. Uses the shared Redis (own key prefix) and a redis-server
 * of the test's own where Redis must die.
 */
import { ServiceError } from '@ctos/protocol';
import { deletePrefix, SHARED_REDIS_URL, startOwnRedis, uniquePrefix, waitFor, type OwnRedis } from '@ctos/testkit';
import { createRedisTransport, type Transport } from '@ctos/transport';
import { Redis } from 'ioredis';
import { createServer } from 'node:http';
import { Server } from 'socket.io';

/** Short beats, as in the other fault suites. */
const HEARTBEAT = { intervalMs: 200, missedBeats: 3 };

describe('the Redis transport under faults', () => {
  const opened: Transport[] = [];
  const open = (url: string, prefix: string, id: string): Transport => {
    const transport = createRedisTransport({ redis: { url }, prefix, id, heartbeat: HEARTBEAT });
    opened.push(transport);
    return transport;
  };

  afterEach(async () => {
    for (const transport of opened.splice(0)) await transport.dispose();
  });

  it('goes on reading an inbox that came back without the entries its reader had seen', async () => {
    const prefix = uniquePrefix('inbox');
    const admin = new Redis(SHARED_REDIS_URL);
    try {
      const heard: unknown[] = [];
      const worker = open(SHARED_REDIS_URL, prefix, 'reader');
      worker.bus.serve((body) => void heard.push(body));
      const sender = open(SHARED_REDIS_URL, prefix, 'sender');
      await sender.bus.send('reader', { n: 1 });
      await waitFor(() => heard.length === 1, { message: 'the first message' });

      // The stream is replaced by one whose ids are all below what the reader saw (Redis
      // restored from an older copy, or a clock that went back), and its connection drops.
      const inbox = `${prefix}:inbox:reader`;
      await admin.del(inbox);
      await admin.xadd(inbox, '1-1', 'm', JSON.stringify({ t: 's', b: { n: 2 } }));
      const clients = (await admin.call('CLIENT', 'LIST')) as string;
      const reader = /id=(\d+) [^\n]*name=ctos:reader:inbox/.exec(clients)?.[1];
      expect(reader).toBeDefined();
      await admin.call('CLIENT', 'KILL', 'ID', reader!);

      await waitFor(() => heard.length === 2, { message: 'the message in the replaced inbox' });
      await sender.bus.send('reader', { n: 3 });
      await waitFor(() => heard.length === 3, { message: 'a message sent afterwards' });
      expect(heard).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    } finally {
      admin.disconnect();
      await deletePrefix(SHARED_REDIS_URL, prefix);
    }
  });

  it('tells an instance that was declared dead while alive, or forgotten, when it beats again', async () => {
    const prefix = uniquePrefix('rejoin');
    const admin = new Redis(SHARED_REDIS_URL);
    try {
      const observer = open(SHARED_REDIS_URL, prefix, 'observer');
      const deaths: string[] = [];
      observer.registry.onDeath((dead) => deaths.push(dead.id));
      const worker = open(SHARED_REDIS_URL, prefix, 'worker');
      const rejoined: string[] = [];
      worker.registry.announce({
        id: 'worker',
        kind: 'terminal',
        capacity: 1,
        load: () => 0,
        onRejoined: (reason) => rejoined.push(reason),
      });
      await waitFor(async () => (await observer.registry.live('terminal')).length === 1, { message: 'registered' });

      // Its last beat made to look old, as after a long stall: it is reaped, then beats again.
      // Its next beat (within 200 ms) makes it new again, and a sweep in a grace reaps
      // nothing (a gap of more than a beat between sweeps, as a loaded machine makes), so
      // it is made old again until a sweep has reaped it.
      await waitFor(
        async () => {
          if (deaths.includes('worker')) return true;
          const [seconds = 0] = await admin.time();
          await admin.zadd(`${prefix}:reg:terminal`, 'XX', (Number(seconds) - 60) * 1000, 'worker');
          return false;
        },
        { intervalMs: 50, message: 'the worker to be declared dead' },
      );
      await waitFor(() => rejoined.length === 1, { message: 'the worker to learn it' });

      // Gone without a death (Redis lost its data): it registers again and says so.
      await admin.zrem(`${prefix}:reg:terminal`, 'worker');
      await waitFor(() => rejoined.length === 2, { message: 'the worker to notice it was forgotten' });
      expect(rejoined).toEqual(['declared-dead', 'forgotten']);
      expect(deaths).toEqual(['worker']);
    } finally {
      admin.disconnect();
      await deletePrefix(SHARED_REDIS_URL, prefix);
    }
  });

  describe('with a Redis of its own', () => {
    let redis: OwnRedis;

    beforeEach(async () => {
      redis = await startOwnRedis();
    });
    afterEach(async () => {
      for (const transport of opened.splice(0)) await transport.dispose();
      await redis.stop();
    });

    it('refuses a send at once with UNAVAILABLE while Redis is down, and takes it once Redis is back', async () => {
      const worker = open(redis.url, 'own', 'worker');
      const heard: unknown[] = [];
      worker.bus.serve((body) => void heard.push(body));
      const sender = open(redis.url, 'own', 'sender');
      await sender.bus.send('worker', 'before');

      redis.signal('SIGKILL');
      // Once the sender's bus knows Redis is unreachable (its registry's calls fail): a send
      // made as the connection died may have been written, and rightly answers TIMEOUT.
      await waitFor(() => !sender.registry.healthy, { message: 'the sender to notice' });
      // Refused, not timed out: a send that waited for its timeout would answer TIMEOUT.
      const refusal = await sender.bus.send('worker', 'during').catch((error: unknown) => error);
      expect((refusal as ServiceError).code).toBe('UNAVAILABLE');

      await redis.restart();
      await waitFor(() => sender.healthy() && worker.healthy(), { timeoutMs: 5000, message: 'recovery within 5 s' });
      await sender.bus.send('worker', 'after');
      await waitFor(() => heard.includes('after'), { message: 'the send after the outage' });
      expect(heard).toEqual(['before', 'after']);
    });

    it('serves requests once Redis is up when the processes started while it was down', async () => {
      redis.signal('SIGKILL');
      await new Promise<void>((resolve) => redis.process.once('exit', () => resolve()));
      const worker = open(redis.url, 'own', 'late-worker');
      worker.bus.serve((body) => ({ echo: body }));
      worker.registry.announce({ id: 'late-worker', kind: 'terminal', capacity: 10, load: () => 0 });
      const gateway = open(redis.url, 'own', 'late-gateway');
      // The outage goes on for a second after they started: long enough for ioredis to give
      // up on the first SUBSCRIBE (three connection attempts). The fault's shape, not a wait.
      await new Promise((resolve) => setTimeout(resolve, 1000));

      await redis.restart();
      await waitFor(
        async () =>
          (await gateway.bus.request({ kind: 'terminal' }, 'ping', { timeoutMs: 1000 }).catch(() => undefined)) !==
          undefined,
        { timeoutMs: 8000, message: 'a request answered (its reply channel subscribed after all)' },
      );
      await expect(gateway.bus.request({ kind: 'terminal' }, 'ping')).resolves.toEqual({ echo: 'ping' });
    });

    it("subscribes a gateway's adapter once Redis is up when it started while Redis was down, and closes it during an outage without an unhandled rejection", async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
      // Attached to an HTTP server (never listening): close() needs one.
      const io = new Server(createServer());
      try {
        redis.signal('SIGKILL');
        await new Promise<void>((resolve) => redis.process.once('exit', () => resolve()));
        const gateway = open(redis.url, 'own', 'late-adapter');
        io.adapter(gateway.adapter!); // the adapter sends its (S)SUBSCRIBE now, into the outage
        // Long enough for ioredis to fail those commands (three connection attempts).
        await new Promise((resolve) => setTimeout(resolve, 1000));

        await redis.restart();
        await admin.connect();
        // The namespace's channel (`<prefix>:socket.io#/#`), which the sharded adapter subscribes to first.
        await waitFor(
          async () => {
            const [, count] = (await admin.call('PUBSUB', 'SHARDNUMSUB', 'own:socket.io#/#')) as [string, number];
            return Number(count) === 1;
          },
          { timeoutMs: 8000, message: "the adapter's channel subscribed after all" },
        );

        redis.signal('SIGKILL');
        await new Promise<void>((resolve) => redis.process.once('exit', () => resolve()));
        await new Promise<void>((resolve) => io.close(() => resolve())); // (S)UNSUBSCRIBE into the outage
        await waitFor(() => !gateway.healthy(), { message: 'the transport to notice the outage' });
        await new Promise((resolve) => setTimeout(resolve, 1000)); // as long again for those to fail
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
        admin.disconnect();
      }
    });

    it('restores after a restart the rooms a gateway still has, and not one it left during the outage', async () => {
      const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
      const io = new Server(createServer());
      const subscribers = async (room: string): Promise<number> => {
        const [, count] = (await admin.call('PUBSUB', 'SHARDNUMSUB', `own:socket.io#/#${room}#`)) as [string, number];
        return Number(count);
      };
      try {
        const gateway = open(redis.url, 'own', 'rooms-gateway');
        io.adapter(gateway.adapter!);
        const rooms = io.of('/').adapter;
        await rooms.addAll('socket-a', new Set(['room-kept']));
        await rooms.addAll('socket-b', new Set(['room-left']));
        await admin.connect();
        await waitFor(async () => (await subscribers('room-kept')) + (await subscribers('room-left')) === 2, {
          message: 'both rooms subscribed',
        });

        redis.signal('SIGKILL');
        await new Promise<void>((resolve) => redis.process.once('exit', () => resolve()));
        rooms.delAll('socket-b'); // its SUNSUBSCRIBE goes into the outage
        // Long enough for ioredis to fail that command (three connection attempts).
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await redis.restart();
        await waitFor(async () => (await subscribers('room-kept')) === 1, {
          timeoutMs: 8000,
          message: 'the room still held to be subscribed again',
        });
        expect(await subscribers('room-left')).toBe(0);
      } finally {
        await new Promise<void>((resolve) => io.close(() => resolve()));
        admin.disconnect();
      }
    });
  });
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServiceError } from '@ctos/protocol';
import { connectClient, deletePrefix, SHARED_REDIS_URL, uniquePrefix, waitFor } from '@ctos/testkit';
import { Server } from 'socket.io';
import {
  createMemoryTransport,
  createRedisTransport,
  MemoryCluster,
  type HeartbeatOptions,
  type Transport,
  type WorkerKind,
} from '@ctos/transport';

/** Fast beats so death detection is quick to test; the contract is in beats, not seconds. */
const HEARTBEAT: HeartbeatOptions = { intervalMs: 200, missedBeats: 3 };

interface Harness {
  transport(id: string): Transport;
  cleanup(): Promise<void>;
}

const implementations: Array<{ name: string; make: () => Harness }> = [
  {
    name: 'memory',
    make: () => {
      const cluster = new MemoryCluster(HEARTBEAT);
      return { transport: (id) => createMemoryTransport(cluster, { id }), cleanup: async () => undefined };
    },
  },
  {
    name: 'redis',
    make: () => {
      const prefix = uniquePrefix('bus');
      return {
        transport: (id) => createRedisTransport({ redis: { url: SHARED_REDIS_URL }, prefix, id, heartbeat: HEARTBEAT }),
        cleanup: () => deletePrefix(SHARED_REDIS_URL, prefix),
      };
    },
  },
];

describe.each(implementations)('the bus contract ($name)', ({ make }) => {
  let harness: Harness;
  const opened: Transport[] = [];
  const open = (id: string): Transport => {
    const transport = harness.transport(id);
    opened.push(transport);
    return transport;
  };
  const worker = (
    id: string,
    kind: WorkerKind,
    load: () => number,
    capacity = 10,
    handler?: (body: unknown) => unknown,
  ) => {
    const transport = open(id);
    transport.bus.serve(handler ?? ((body) => ({ from: id, body })));
    const announcement = transport.registry.announce({ id, kind, capacity, load });
    return { transport, announcement };
  };
  const until = (transport: Transport, kind: WorkerKind, count: number) =>
    waitFor(async () => (await transport.registry.live(kind)).length === count, { message: `${count} live ${kind}` });

  beforeEach(() => {
    harness = make();
  });
  afterEach(async () => {
    for (const transport of opened.splice(0)) await transport.dispose();
    await harness.cleanup();
  });

  it('delivers a request to a live worker and returns its reply', async () => {
    worker('w1', 'terminal', () => 0);
    const gateway = open('g1');
    await until(gateway, 'terminal', 1);
    await expect(gateway.bus.request({ kind: 'terminal' }, { ping: 1 })).resolves.toEqual({
      from: 'w1',
      body: { ping: 1 },
    });
  });

  it("passes a worker's refusal through with its code", async () => {
    worker(
      'w1',
      'terminal',
      () => 0,
      10,
      () => {
        throw new ServiceError('NOT_FOUND', 'No such thing.');
      },
    );
    const gateway = open('g1');
    await until(gateway, 'terminal', 1);
    await expect(gateway.bus.request({ kind: 'terminal' }, {})).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'No such thing.',
    });
  });

  it('turns a handler bug into INTERNAL without its text', async () => {
    worker(
      'w1',
      'terminal',
      () => 0,
      10,
      () => {
        throw new Error('secret internals');
      },
    );
    const gateway = open('g1');
    await until(gateway, 'terminal', 1);
    const failure = gateway.bus.request({ kind: 'terminal' }, {});
    await expect(failure).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(failure).rejects.not.toMatchObject({ message: expect.stringContaining('secret') });
  });

  it('times out a request nobody answers', async () => {
    worker(
      'w1',
      'terminal',
      () => 0,
      10,
      () => new Promise(() => undefined),
    );
    const gateway = open('g1');
    await until(gateway, 'terminal', 1);
    await expect(gateway.bus.request({ kind: 'terminal' }, {}, { timeoutMs: 200 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
  });

  it('answers UNAVAILABLE when no worker of the kind is alive', async () => {
    const gateway = open('g1');
    await expect(gateway.bus.request({ kind: 'ai' }, {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('places a request on the least-loaded worker with room, and refuses when all are full', async () => {
    worker('busy', 'terminal', () => 5);
    worker('idle', 'terminal', () => 1);
    worker('full', 'terminal', () => 0, 0);
    const gateway = open('g1');
    await until(gateway, 'terminal', 3);
    for (let i = 0; i < 5; i++) {
      await expect(gateway.bus.request({ kind: 'terminal' }, i)).resolves.toMatchObject({ from: 'idle' });
    }
    worker('m-full', 'message', () => 4, 4);
    await until(gateway, 'message', 1);
    await expect(gateway.bus.request({ kind: 'message' }, {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('delivers 10,000 sends to one worker in order', async () => {
    const received: number[] = [];
    worker(
      'w1',
      'terminal',
      () => 0,
      10,
      (body) => {
        received.push(body as number);
      },
    );
    const gateway = open('g1');
    await Promise.all(Array.from({ length: 10_000 }, (_, i) => gateway.bus.send('w1', i)));
    await waitFor(() => received.length === 10_000, { timeoutMs: 20_000, message: 'all sends' });
    expect(received).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
  });

  it('declares a worker that stops beating dead within its missed beats, once, to every registry', async () => {
    const { transport: doomed } = worker('w1', 'terminal', () => 0);
    const a = open('g1');
    const b = open('g2');
    const deaths: string[] = [];
    a.registry.onDeath((dead) => deaths.push(`a:${dead.id}:${dead.kind}`));
    b.registry.onDeath((dead) => deaths.push(`b:${dead.id}:${dead.kind}`));
    await until(a, 'terminal', 1);
    await doomed.dispose(); // beats stop, as when the process is killed
    opened.splice(opened.indexOf(doomed), 1);
    // Declared after missedBeats intervals, swept every half interval: the deadline of the
    // wait is that, plus one interval for scheduling.
    await waitFor(() => deaths.length === 2, {
      timeoutMs: HEARTBEAT.intervalMs * (HEARTBEAT.missedBeats + 2),
      message: 'both registries hear the death within the missed beats',
    });
    expect(deaths.sort()).toEqual(['a:w1:terminal', 'b:w1:terminal']);
    expect(await a.registry.live('terminal')).toEqual([]);
  });

  it('does not declare a worker dead that left on purpose', async () => {
    const { announcement } = worker('w1', 'terminal', () => 0);
    const { transport: doomed } = worker('w2', 'terminal', () => 0);
    const gateway = open('g1');
    const deaths: string[] = [];
    gateway.registry.onDeath((dead) => deaths.push(dead.id));
    await until(gateway, 'terminal', 2);
    await announcement.dispose();
    await until(gateway, 'terminal', 1);
    // A worker that dies afterwards: once its death is heard, the sweeps have passed the
    // leaver's deadline too, so a death of the leaver would have been heard first.
    await doomed.dispose();
    opened.splice(opened.indexOf(doomed), 1);
    await waitFor(() => deaths.length > 0, { message: 'the second worker declared dead' });
    expect(deaths).toEqual(['w2']);
  });

  it('carries a room emit from a worker to sockets on two different gateway servers', async () => {
    const servers: Server[] = [];
    const urls: string[] = [];
    for (const id of ['g1', 'g2']) {
      const transport = open(id);
      const http = createServer();
      const io = new Server(http, { adapter: transport.adapter, transports: ['websocket'] });
      transport.attachServer(io);
      io.on('connection', (socket) => void socket.join(String(socket.handshake.auth.room)));
      servers.push(io);
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      urls.push(`http://127.0.0.1:${(http.address() as AddressInfo).port}`);
    }
    const emitterSide = open('w1');
    const inRoom = await Promise.all(urls.map((url) => connectClient(url, undefined, { auth: { room: 'user:42' } })));
    const outside = await connectClient(urls[0]!, undefined, { auth: { room: 'user:43' } });
    const got: string[] = [];
    inRoom.forEach((socket, i) => socket.on('message:unread_count', (e) => got.push(`g${i + 1}:${e.count}`)));
    outside.on('message:unread_count', (e) => got.push(`outside:${e.count}`));
    // Redis subscriptions settle asynchronously; emit until both gateways deliver.
    await waitFor(async () => {
      await emitterSide.emitter.emit('user:42', 'message:unread_count', { count: 7 });
      return got.includes('g1:7') && got.includes('g2:7');
    });
    await emitterSide.emitter.emit('user:43', 'message:unread_count', { count: 9 });
    await waitFor(() => got.includes('outside:9'));
    expect(got.filter((g) => g.startsWith('outside')).every((g) => g === 'outside:9')).toBe(true);
    for (const socket of [...inRoom, outside]) socket.close();
    for (const io of servers) await new Promise((resolve) => io.close(resolve));
  });
});

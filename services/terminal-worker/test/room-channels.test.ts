/**
 * Per-room channels (issue 17): over Redis a room emit reaches only the gateways with a
 * socket in that room. Each room has a sharded channel of its own, which a gateway
 * subscribes to while it has a socket in the room; Redis delivers an SPUBLISH only to a
 * channel's subscribers, so the subscriptions are what decides who receives. The Redis
 * build alone: the in-memory build has one process and no channels.
 */
import { OutputCollector, SHARED_REDIS_URL, waitFor, type ClientSocket } from '@ctos/testkit';
import { Redis } from 'ioredis';
import { attach, connectAs, openSession, type } from './harness';
import { startTerminalCluster, type TerminalCluster } from './terminal-cluster';

describe('room channels over Redis (two gateways)', () => {
  let cluster: TerminalCluster;
  let admin: Redis;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    cluster = await startTerminalCluster('redis', { gateways: 2 });
    admin = new Redis(SHARED_REDIS_URL);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    admin.disconnect();
    await cluster.stop();
  });

  const connect = async (user: string, gateway: number): Promise<ClientSocket> => {
    const socket = await connectAs(cluster.urls[gateway]!, user);
    sockets.push(socket);
    return socket;
  };
  /** Shard channels each gateway's subscriber reads (`CLIENT LIST`'s `ssub`), by gateway. */
  const shardSubscriptions = async (): Promise<number[]> => {
    const clients = (await admin.call('CLIENT', 'LIST')) as string;
    return cluster.gatewayIds.map((id) => Number(new RegExp(`name=ctos:${id}:sub .*?ssub=(\\d+)`).exec(clients)?.[1]));
  };
  /** Subscribers of a room's channel, as Redis counts them. */
  const subscribers = async (room: string): Promise<number> => {
    const reply = (await admin.call('PUBSUB', 'SHARDNUMSUB', `${cluster.prefix}:socket.io#/#${room}#`)) as [
      string,
      number,
    ];
    return Number(reply[1]);
  };

  it("subscribes a room's channel only on the gateways with a socket in the room, and leaves it with the last one", async () => {
    // Each gateway reads its namespace's channel and its own response channel, nothing more.
    expect(await shardSubscriptions()).toEqual([2, 2]);

    const alice = await connect('alice-rooms', 0);
    const session = await openSession(alice);
    type(alice, session, 'echo on-gateway-0');
    await session.waitForText(/on-gateway-0\r\n/);
    const room = `terminal:${session.sessionId}`;
    expect(await subscribers(room)).toBe(1);
    // Gateway 0 reads alice's user room and her terminal's room as well; gateway 1 does not.
    expect(await shardSubscriptions()).toEqual([4, 2]);

    // A second socket of hers, on gateway 1, attaches: gateway 1 now reads both rooms too,
    // and gets output live.
    const second = await connect('alice-rooms', 1);
    const view = new OutputCollector(second, session.sessionId);
    expect((await attach(second, view, session.seq)).success).toBe(true);
    expect([await subscribers(room), ...(await shardSubscriptions())]).toEqual([2, 4, 4]);
    type(alice, session, 'echo both-gateways');
    await view.waitForText(/both-gateways\r\n/);

    // The first socket goes: gateway 0 leaves both of its rooms; gateway 1 still delivers.
    alice.close();
    await waitFor(async () => (await shardSubscriptions())[0] === 2, { message: 'gateway 0 to leave its rooms' });
    expect([await subscribers(room), ...(await shardSubscriptions())]).toEqual([1, 2, 4]);
    type(second, view, 'echo gateway-1-only');
    await view.waitForText(/gateway-1-only\r\n/);
  });
});

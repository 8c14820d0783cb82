/**
 * Issue 21, "Redis that survives a node loss": the process cluster with `CLUSTER_REDIS=
 * sentinel` (a primary, a replica, one Sentinel; every service finds the primary through
 * `REDIS_SENTINELS`), and the primary SIGKILLed under load. Once the Sentinel has promoted
 * the replica, terminals, the reply and messages carry on with the same assertions as the
 * Redis-restart fault (faults-redis): no connection closed, every stream whole byte for
 * byte, the reply whole and stored, every acknowledged message delivered once, keystrokes
 * once each or refused; and writes acknowledged by the primary up to its death are on the
 * promoted replica.
 */
import { connectRedis } from '@ctos/transport';
import { waitFor } from '@ctos/testkit';
import { startFaultCluster, type FaultCluster } from './faults-support';
import { countAcknowledgedWrites, faultHarness, namedPrimary, type FaultHarness } from './faults-under-load';

describe('Redis Sentinel failover on the process cluster', () => {
  let system: FaultCluster;
  let harness: FaultHarness;

  beforeAll(async () => {
    // The default heartbeat (1 s, dead after 3): a default failover (down-after 1 s, and a
    // second or so) is shorter than the death deadline, yet longer than the deadline less
    // a beat, so a live instance that beat just before it looks dead at the next sweep.
    system = await startFaultCluster({
      CLUSTER_REDIS: 'sentinel',
      HEARTBEAT_INTERVAL_MS: '1000',
      HEARTBEAT_MISSED_BEATS: '3',
    });
    harness = faultHarness(system);
  }, 60_000);

  afterEach(() => harness?.closeClients());

  afterAll(async () => {
    await system?.stop();
  });

  it('carries on when the primary is SIGKILLed and the Sentinel promotes the replica, losing nothing acknowledged', async () => {
    const primaryPort = system.running('redis')[0]!.ports.redis!;
    const replicaPort = system.running('redis-replica')[0]!.ports.redis!;
    expect(await namedPrimary(system)).toBe(primaryPort);

    // Acknowledged writes straight to the primary, racing the kill: each one the primary
    // acknowledged must be on the replica it is replaced by.
    const counter = `${system.cluster.redisPrefix}:faults:failover-counter`;
    const writes = countAcknowledgedWrites(system.cluster.redisUrl, counter);

    try {
      await harness.underLoad(
        'failover',
        async ({ faulted, recovered }) => {
          await system.cluster.signal('redis', 'SIGKILL');
          faulted();
          await writes.stopped;
          // Promoted: the Sentinel names the replica, and it takes writes.
          await waitFor(async () => (await namedPrimary(system)) === replicaPort, {
            timeoutMs: 15_000,
            message: 'the Sentinel to promote the replica',
          });
          recovered();
        },
        { notReady: true, resync: true, resends: true },
      );
    } finally {
      writes.close();
    }

    const check = connectRedis(system.cluster.redisTarget, 'faults-sentinel-check');
    try {
      expect(await check.call('ROLE').then((role) => (role as unknown[])[0])).toBe('master');
      expect(/tcp_port:(\d+)/.exec(await check.info('server'))?.[1]).toBe(String(replicaPort));
      const kept = Number(await check.get(counter));
      // Every acknowledged INCR is on the new primary; at most the one in flight at the kill went in unacknowledged.
      expect(writes.acknowledged()).toBeGreaterThan(0);
      expect([writes.acknowledged(), writes.acknowledged() + 1]).toContain(kept);
      // Every service followed the failover: each has its connections on the new primary.
      const clients = (await check.call('CLIENT', 'LIST')) as string;
      for (const p of system.cluster.processes().filter((p) => p.role.endsWith('-worker') || p.role === 'gateway')) {
        expect([p.name, new RegExp(`name=ctos:[a-z]+-[^ ]*-${p.pid}-[^ ]*:cmd `).test(clients)]).toEqual([
          p.name,
          true,
        ]);
      }
    } finally {
      check.disconnect();
    }
  }, 120_000);
});

/**
 * Issue 21, found by a reviewer: the primary paused (SIGSTOP: a frozen VM, a partition)
 * long enough for the Sentinel to promote the replica, then resumed. The services'
 * connections must leave it when the promotion is announced: before, they stayed, and
 * once it answered again it took and acknowledged messages until the Sentinel demoted it
 * seconds later; the promoted replica never had them, so they were lost and their ids
 * given out again. Every message the producer API acknowledged must be kept, once, with
 * its own id.
 */
import { waitFor } from '@ctos/testkit';
import { postWithRetries, RecoveringClient, startFaultCluster, type FaultCluster, type Posted } from './faults-support';
import { namedPrimary } from './faults-under-load';

describe('Redis Sentinel failover of a paused primary', () => {
  let system: FaultCluster;
  const clients: RecoveringClient[] = [];

  beforeAll(async () => {
    system = await startFaultCluster({
      CLUSTER_REDIS: 'sentinel',
      HEARTBEAT_INTERVAL_MS: '1000',
      HEARTBEAT_MISSED_BEATS: '3',
    });
  }, 60_000);

  afterAll(async () => {
    for (const client of clients.splice(0)) client.close();
    await system?.stop();
  });

  it('keeps every acknowledged message, once and under its own id, when the old primary resumes', async () => {
    const replicaPort = system.running('redis-replica')[0]!.ports.redis!;
    const apiPort = (): number => system.running('message-worker')[0]!.ports.api!;
    const token = system.cluster.messageApiTokens[0]!;
    const posted: Posted[] = [];
    let posting = true;
    const producer = (async () => {
      for (let n = 1; posting; n++) posted.push(await postWithRetries(apiPort, token, 'ann', `pause-${n}`));
    })();
    await waitFor(() => posted.length >= 3, { message: 'messages to flow before the pause' });

    await system.cluster.signal('redis', 'SIGSTOP');
    try {
      await waitFor(async () => (await namedPrimary(system)) === replicaPort, {
        timeoutMs: 15_000,
        message: 'the Sentinel to promote the replica',
      });
      const promotedAt = posted.length;
      await waitFor(() => posted.length >= promotedAt + 3, { message: 'messages to flow on the new primary' });
    } finally {
      await system.cluster.signal('redis', 'SIGCONT');
    }
    // The old primary answers again: what the services send now must not land on it.
    const resumedAt = posted.length;
    await waitFor(() => posted.length >= resumedAt + 10, { message: 'messages to flow after the old primary resumed' });
    posting = false;
    await producer;

    const acknowledged = posted.map((p) => ({ title: p.title, ids: p.ids }));
    expect(acknowledged.filter((p) => p.ids.length !== 1)).toEqual([]);
    const client = new RecoveringClient(
      `http://127.0.0.1:${system.running('gateway')[0]!.port}`,
      await system.cluster.signToken('ann'),
    );
    clients.push(client);
    await client.connected();
    const stored = new Map<number, string>();
    for (let since = 0, more = true; more;) {
      const page = await client.socket.timeout(5000).emitWithAck('message:sync', { since, limit: 100 });
      if (!page.success) throw new Error(`message:sync: ${page.code}`);
      for (const m of page.messages as Array<{ id: number; title: string }>) stored.set(m.id, m.title);
      more = page.has_more;
      since = page.messages.at(-1)?.id ?? since;
    }
    // Each acknowledged message is stored under the id it was acknowledged with.
    expect(acknowledged.filter((p) => stored.get(p.ids[0]!) !== p.title)).toEqual([]);
    expect(new Set(acknowledged.map((p) => p.ids[0])).size).toBe(acknowledged.length);
  }, 120_000);
});

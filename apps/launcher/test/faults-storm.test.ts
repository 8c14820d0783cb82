/**
 * Issue 10, fault 8: a reconnect storm. Every socket of one gateway loses it at once
 * (SIGKILL) and comes back through nginx to the other, with the web page's backoff
 * (first retry after 500 ms ± 50 %, then doubling to 10 s).
 *
 * The 1,000 sockets (100 users), the clients in the test process; the 30 s limit
 * is the issue's.
 * "Without stalling the survivor" is read from the product's own counter, not a clock:
 * a gateway that stalls past its heartbeats is declared dead and resynchronises.
 */
import { waitFor } from '@ctos/testkit';
import { metric, postWithRetries, RecoveringClient, startFaultCluster, type FaultCluster } from './faults-support';

const SOCKETS = 1000;
const USERS = 100;
/** The limit for the storm to be over. */
const RECONNECTED_MS = 30_000;
/** Not in lockstep: no 50 ms slice of the retries holds more than a quarter of them. */
const SLICE_MS = 50;
const MAX_SHARE_IN_SLICE = 0.25;

describe('a reconnect storm on the process cluster', () => {
  let system: FaultCluster;
  const clients: RecoveringClient[] = [];

  beforeAll(async () => {
    system = await startFaultCluster({ CLUSTER_TERMINAL_WORKERS: '0', CLUSTER_AI_WORKERS: '0' });
  }, 60_000);

  afterAll(async () => {
    for (const client of clients.splice(0)) client.close();
    await system?.stop();
  });

  it('brings every socket of a killed gateway back through the other within 30 s, jittered, without stalling it (it keeps its heartbeats)', async () => {
    // Through nginx from one address: its hash puts every socket on the same gateway.
    const tokens = await Promise.all(Array.from({ length: USERS }, (_, u) => system.cluster.signToken(`storm-${u}`)));
    for (let start = 0; start < SOCKETS; start += 50) {
      const batch = Array.from({ length: Math.min(50, SOCKETS - start) }, (_, i) => {
        const client = new RecoveringClient(system.cluster.url, tokens[(start + i) % USERS]!, {
          reconnectionDelay: 500,
          reconnectionDelayMax: 10_000,
        });
        clients.push(client);
        return client.connected(30_000);
      });
      await Promise.all(batch);
    }
    const gateways = system.running('gateway');
    const counts = await Promise.all(gateways.map((g) => metric(g, 'ctos_gateway_sockets')));
    expect(counts.slice().sort((a, b) => a - b)).toEqual([0, SOCKETS]);
    const victim = gateways[counts.indexOf(SOCKETS)]!;
    const survivor = gateways.find((g) => g !== victim)!;

    // A survivor whose event loop stalls misses heartbeats, is declared dead by the others
    // and resynchronises its clients: the product's own measure of "kept up".
    const resyncsBefore = await metric(survivor, 'ctos_gateway_resyncs_total');

    const killedAt = performance.now();
    await system.cluster.signal(victim.name, 'SIGKILL');
    // The gateway counts a socket before its client hears `connect`: both, then.
    await waitFor(
      async () =>
        (await metric(survivor, 'ctos_gateway_sockets')) === SOCKETS && clients.every((c) => c.socket.connected),
      { timeoutMs: RECONNECTED_MS, intervalMs: 100, message: 'every socket to be back on the surviving gateway' },
    );
    // Jittered backoff: the first retries spread over hundreds of milliseconds.
    const firstRetry = clients.map((c) => c.attempts[0]! - killedAt);
    expect(firstRetry.every((t) => Number.isFinite(t))).toBe(true);
    const slices = new Map<number, number>();
    for (const t of firstRetry) slices.set(Math.floor(t / SLICE_MS), (slices.get(Math.floor(t / SLICE_MS)) ?? 0) + 1);
    expect(Math.max(...firstRetry) - Math.min(...firstRetry)).toBeGreaterThan(200);
    expect(Math.max(...slices.values())).toBeLessThanOrEqual(SOCKETS * MAX_SHARE_IN_SLICE);
    // The survivor kept its heartbeats through the storm: never declared dead, no resync.
    await expect(metric(survivor, 'ctos_gateway_resyncs_total')).resolves.toBe(resyncsBefore);

    // Room emits reach the reconnected sockets: every socket of one user hears a message.
    const posted = await postWithRetries(
      () => system.running('message-worker')[0]!.ports.api!,
      system.cluster.messageApiTokens[0]!,
      'storm-0',
      'after the storm',
    );
    const mine = clients.filter((_, i) => i % USERS === 0);
    await waitFor(() => mine.every((c) => c.messages.has(posted.ids[0]!)), { message: 'the message on every socket' });
  }, 90_000);
});

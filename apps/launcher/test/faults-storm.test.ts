/**
 * Issue 10, fault 8: a reconnect storm. Every socket of one gateway loses it at once
 * (SIGKILL) and comes back through nginx to the other, with the web page's backoff
 * (first retry after 500 ms ± 50 %, then doubling to 10 s).
 *
 * Scaled down from the issue: 300 sockets instead of 1,000 (the clients run in the test
 * process, on a 2-core machine shared with the cluster); the 30 s and 500 ms limits are
 * the issue's.
 */
import { waitFor } from '@ctos/testkit';
import { metric, postWithRetries, RecoveringClient, startFaultCluster, type FaultCluster } from './faults-support';

const SOCKETS = 1000;
const USERS = 100;
/** The limits. */
const RECONNECTED_MS = 30_000;
const MAX_LAG_S = 0.5;
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

  it('brings every socket of a killed gateway back through the other within 30 s, jittered, without stalling it', async () => {
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

    // Watch the survivor's event loop through the storm: the lag at each scrape, and the
    // longest delay since the previous scrape (prom-client resets that histogram per scrape).
    const lags: number[] = [];
    const worst: number[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        lags.push(await metric(survivor, 'nodejs_eventloop_lag_seconds').catch(() => Number.NaN));
        worst.push(await metric(survivor, 'nodejs_eventloop_lag_max_seconds').catch(() => Number.NaN));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    const killedAt = performance.now();
    await system.cluster.signal(victim.name, 'SIGKILL');
    await waitFor(async () => (await metric(survivor, 'ctos_gateway_sockets')) === SOCKETS, {
      timeoutMs: RECONNECTED_MS,
      intervalMs: 100,
      message: 'every socket to be back on the surviving gateway',
    });
    const backAfterMs = performance.now() - killedAt;
    await new Promise((resolve) => setTimeout(resolve, 500)); // one more lag sample after the storm
    watching = false;
    await watch;

    expect(backAfterMs).toBeLessThan(RECONNECTED_MS);
    expect(clients.every((c) => c.socket.connected)).toBe(true);
    // Jittered backoff: the first retries spread over hundreds of milliseconds.
    const firstRetry = clients.map((c) => c.attempts[0]! - killedAt);
    expect(firstRetry.every((t) => Number.isFinite(t))).toBe(true);
    const slices = new Map<number, number>();
    for (const t of firstRetry) slices.set(Math.floor(t / SLICE_MS), (slices.get(Math.floor(t / SLICE_MS)) ?? 0) + 1);
    expect(Math.max(...firstRetry) - Math.min(...firstRetry)).toBeGreaterThan(200);
    expect(Math.max(...slices.values())).toBeLessThanOrEqual(SOCKETS * MAX_SHARE_IN_SLICE);
    // The survivor's event loop kept up.
    const measured = lags.filter((lag) => Number.isFinite(lag));
    expect(measured.length).toBeGreaterThan(3);
    expect(Math.max(...measured)).toBeLessThan(MAX_LAG_S);
    expect(Math.max(...worst.filter((lag) => Number.isFinite(lag)))).toBeLessThan(MAX_LAG_S);

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

import { createLogger } from '@ctos/runtime';
import {
  connectClient,
  Gate,
  signToken,
  TEST_JWT_SECRET,
  transportFactory,
  waitFor,
  type ClientSocket,
  type TransportFactory,
} from '@ctos/testkit';
import type { Transport } from '@ctos/transport';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { io } from 'socket.io-client';
import { createGateway, loadGatewayConfig, type Gateway } from '../src';

/**
 * A gateway that drains closes its sockets spread over GATEWAY_DRAIN_WINDOW_MS, so that
 * its clients' reconnects reach the other gateways spread out, not all at once (issue
 * 21); from the moment the drain starts it says it is not ready and takes no new socket.
 */

const HEARTBEAT = { intervalMs: 200, missedBeats: 3 };
/** Clients on the draining gateway. */
const CLIENTS = 1000;
/**
 * The drain window of the distribution test (ms): past the longest the setting takes (10 s;
 * nothing caps a drain in-process), so that what a loaded machine does to the reconnects
 * stays small against a tenth of it: on a busy
 * 2-core machine this one process (both gateways and all 1,000 clients) at times takes
 * no connection for 1–2 s, and then takes them all at once.
 */
const SPREAD_WINDOW_MS = 15_000;
/**
 * The most of the reconnects any stretch a tenth of the window long may hold: uniform is
 * about 10 % (13 % at most, measured), all at once 100 %. A stall of 2 s, as above, adds
 * about 13 % to one tenth.
 */
const MOST_IN_A_TENTH = 0.3;
/** Clients connected at a time while the test sets up (1,000 at once would be a herd of its own). */
const CONNECT_BATCH = 50;
/**
 * A window the tests of the drain's first moments stay inside (ms): they end it by closing
 * their clients. Past what the setting takes (nothing caps a drain in-process).
 */
const LONG_WINDOW_MS = 60_000;

/** The gateway's settings here: one user and one address hold every socket of the test. */
const SETTINGS = {
  AUTH_JWT_SECRET: TEST_JWT_SECRET,
  LOG_LEVEL: 'silent',
  GATEWAY_MAX_SOCKETS_PER_USER: String(2 * CLIENTS),
  GATEWAY_MAX_SOCKETS_PER_ADDRESS: String(2 * CLIENTS),
};

/** `GET url/readyz`: its status and body. */
async function readyz(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${url}/readyz`, { headers: { connection: 'close' } });
  return { status: response.status, body: await response.json() };
}

/** The most of `times` (ascending) within any stretch `widthMs` long. */
function mostWithin(times: readonly number[], widthMs: number): number {
  let most = 0;
  for (let first = 0, last = 0; last < times.length; last++) {
    while (times[last]! - times[first]! >= widthMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/** A client that connects to `url` and, unlike `connectClient`, keeps its connection after a refusal. */
function probe(url: string, token: string): ClientSocket {
  return io(url, {
    path: '/socket.io',
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { token },
  });
}

/** `transport`, whose `roomsSubscribed` (a handshake's last wait) waits for `gate`. */
function gatedRooms(transport: Transport, gate: Gate): Transport {
  return new Proxy(transport, {
    get: (target, name) => {
      if (name === 'roomsSubscribed') return () => gate.pass().then(() => target.roomsSubscribed());
      const value = Reflect.get(target, name) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('a gentle drain', () => {
  let factory: TransportFactory;
  let token: string;
  const gateways: Gateway[] = [];
  const sockets: ClientSocket[] = [];

  /** Starts a gateway at 127.0.0.1 with a drain window of `windowMs`, on `transport` (default: its own). */
  const start = async (id: string, windowMs: number, transport = factory.open(id)) => {
    const gateway = createGateway({
      id,
      config: { ...loadGatewayConfig(SETTINGS), GATEWAY_DRAIN_WINDOW_MS: windowMs },
      jwtSecret: TEST_JWT_SECRET,
      transport,
      logger: createLogger({ service: 'gateway', level: 'silent' }),
      metrics: new Registry(),
    });
    gateways.push(gateway);
    await gateway.listen(0, '127.0.0.1');
    return { gateway, url: `http://127.0.0.1:${(gateway.http.address() as AddressInfo).port}` };
  };

  beforeAll(async () => {
    token = await signToken('drain-user');
  });
  beforeEach(() => {
    factory = transportFactory('memory', HEARTBEAT, 'gentle-drain');
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    for (const gateway of gateways.splice(0)) await gateway.drain();
    await factory.cleanup();
  });

  it("spreads a drained gateway's 1,000 clients' reconnects over the configured window (measured from their connect times)", async () => {
    const a = await start('gateway-a', SPREAD_WINDOW_MS);
    const b = await start('gateway-b', SPREAD_WINDOW_MS);
    const onA: ClientSocket[] = [];
    for (let i = 0; i < CLIENTS; i += CONNECT_BATCH) {
      const batch = Array.from({ length: Math.min(CONNECT_BATCH, CLIENTS - i) }, () => connectClient(a.url, token));
      onA.push(...(await Promise.all(batch)));
    }
    sockets.push(...onA);
    expect(a.gateway.io.sockets.sockets.size).toBe(CLIENTS);

    // Each client does what the page does when the server closes its socket: it connects
    // again, here to the other gateway (where the load balancer sends it once A is not ready).
    const connectedAt: number[] = [];
    const problems: string[] = [];
    for (const socket of onA) {
      socket.once('disconnect', (reason) => {
        if (reason !== 'io server disconnect') {
          problems.push(`closed by ${reason}`);
          return;
        }
        connectClient(b.url, token).then(
          (moved) => {
            connectedAt.push(performance.now());
            sockets.push(moved);
          },
          (error: unknown) => problems.push(`refused by B: ${String(error)}`),
        );
      });
    }
    await a.gateway.drain();
    await waitFor(() => connectedAt.length + problems.length === CLIENTS, {
      timeoutMs: 30_000,
      message: `every client to reconnect (${connectedAt.length} have)`,
    });
    expect(problems).toEqual([]);
    expect(b.gateway.io.sockets.sockets.size).toBe(CLIENTS);

    // All at once (a window of 0, the drain before there was one) puts them within about
    // 1.5 s here: every one in one tenth of this window, and a spread far below half of it.
    const times = connectedAt.sort((x, y) => x - y);
    expect(times[times.length - 1]! - times[0]!).toBeGreaterThanOrEqual(SPREAD_WINDOW_MS / 2);
    expect(mostWithin(times, SPREAD_WINDOW_MS / 10)).toBeLessThanOrEqual(CLIENTS * MOST_IN_A_TENTH);
  }, 60_000);

  it('stops listening from the moment the drain starts, and keeps the sockets it has for the window', async () => {
    const a = await start('gateway-a', LONG_WINDOW_MS);
    expect(await readyz(a.url)).toEqual({ status: 200, body: { status: 'ready', failing: [] } });
    const held = [await connectClient(a.url, token), await connectClient(a.url, token)];
    sockets.push(...held);

    const drained = a.gateway.drain();
    // A new connection is refused by the system: a probe fails, and nginx tries the next gateway.
    const probed = await readyz(a.url).then(
      () => 'answered',
      (error: Error & { cause?: { code?: string } }) => error.cause?.code,
    );
    expect(probed).toBe('ECONNREFUSED');
    const newcomer = probe(a.url, token);
    sockets.push(newcomer);
    await new Promise<Error>((resolve) => newcomer.once('connect_error', resolve));
    expect(newcomer.connected).toBe(false);
    expect(a.gateway.io.engine.clientsCount).toBe(held.length);
    // Still inside the window: the sockets it held are open.
    expect(held.every((socket) => socket.connected)).toBe(true);

    // Sockets that leave by themselves are not waited for: the drain ends once they have.
    for (const socket of held) socket.close();
    await drained;
    expect(a.gateway.http.listening).toBe(false);
  });

  it('closes at once a socket whose handshake was under way when the drain started', async () => {
    const gate = new Gate();
    const a = await start('gateway-a', LONG_WINDOW_MS, gatedRooms(factory.open('gateway-a'), gate));
    const held = await connectClient(a.url, token);
    sockets.push(held);
    gate.close();
    const late = probe(a.url, token);
    sockets.push(late);
    const closed = new Promise<string>((resolve) => late.once('disconnect', resolve));
    await waitFor(() => gate.held === 1, { message: 'the handshake to reach its last wait' });

    const drained = a.gateway.drain();
    gate.open();
    // It connected (a socket that never did has no disconnect), and was closed at once.
    expect(await closed).toBe('io server disconnect');
    expect(held.connected).toBe(true);

    held.close();
    await drained;
  });

  it('takes a drain window of 0 to 10 s, 2 s by default, and refuses others by name', () => {
    expect(loadGatewayConfig(SETTINGS).GATEWAY_DRAIN_WINDOW_MS).toBe(2000);
    expect(loadGatewayConfig({ ...SETTINGS, GATEWAY_DRAIN_WINDOW_MS: '0' }).GATEWAY_DRAIN_WINDOW_MS).toBe(0);
    expect(loadGatewayConfig({ ...SETTINGS, GATEWAY_DRAIN_WINDOW_MS: '10000' }).GATEWAY_DRAIN_WINDOW_MS).toBe(10000);
    expect(() => loadGatewayConfig({ ...SETTINGS, GATEWAY_DRAIN_WINDOW_MS: '10001' })).toThrow(
      /GATEWAY_DRAIN_WINDOW_MS/,
    );
  });
});

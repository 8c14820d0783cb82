import type { TerminalBusMessage } from '@ctos/protocol';
import { createLogger } from '@ctos/runtime';
import {
  BUILDS,
  connectClient,
  signToken,
  TEST_JWT_SECRET,
  transportFactory,
  waitFor,
  type ClientSocket,
  type TransportFactory,
} from '@ctos/testkit';
import type { AnnouncementHandle, Bus, Registry as WorkerRegistry, Transport } from '@ctos/transport';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createGateway, loadGatewayConfig, type Gateway, type RouteModule } from '../src';

/**
 * A gateway's drain (ARCHITECTURE.md, "Who owns what"): its steps run in turn, each
 * after the one before has finished, every one of them even when an earlier one failed.
 */

const HEARTBEAT = { intervalMs: 200, missedBeats: 3 };
const quiet = (service: string) => createLogger({ service, level: 'silent' });

/** Starts a gateway on `transport` at 127.0.0.1, with `extraRoutes`. */
async function startGateway(
  id: string,
  transport: Transport,
  extraRoutes: Array<() => RouteModule> = [],
): Promise<{ gateway: Gateway; url: string }> {
  const gateway = createGateway({
    id,
    // Sockets close at once: spreading them is gentle-drain's subject.
    config: loadGatewayConfig({ AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent', GATEWAY_DRAIN_WINDOW_MS: '0' }),
    jwtSecret: TEST_JWT_SECRET,
    transport,
    logger: quiet('gateway'),
    metrics: new Registry(),
    extraRoutes,
  });
  await gateway.listen(0, '127.0.0.1');
  return { gateway, url: `http://127.0.0.1:${(gateway.http.address() as AddressInfo).port}` };
}

/** The ids of the live instances of `kind` that `registry` lists. */
async function liveIds(registry: WorkerRegistry, kind: 'gateway' | 'terminal'): Promise<string[]> {
  return (await registry.live(kind)).map((instance) => instance.id);
}

/**
 * A terminal-worker stand-in on the bus: creates sessions without a PTY and records, in
 * `events`, each release and detach it is sent.
 */
function fakeTerminalWorker(transport: Transport, events: string[]): AnnouncementHandle {
  transport.bus.serve((body) => {
    const message = body as TerminalBusMessage;
    if (message.op === 'create') {
      return { session_id: 'session-1', created_at: new Date().toISOString(), worker: transport.bus.id };
    }
    events.push(message.op);
    return undefined;
  });
  return transport.registry.announce({ id: transport.bus.id, kind: 'terminal', capacity: 10, load: () => 0 });
}

/**
 * The gateway's transport, recording in `events` when it leaves the registry and when a
 * detach it sends is confirmed. Each detach waits for `gate`, then for a turn of the
 * event loop, as a slow bus would: a drain that does not wait for it moves on meanwhile.
 */
function recordingTransport(transport: Transport, events: string[], gate: Promise<void>): Transport {
  const bus = new Proxy(transport.bus, {
    get: (target, name) => {
      if (name !== 'send') return bindTo(target, name);
      return async (...args: Parameters<Bus['send']>) => {
        if ((args[1] as TerminalBusMessage).op !== 'detach') return target.send(...args);
        await gate;
        await new Promise((resolve) => setImmediate(resolve));
        await target.send(...args);
        events.push('sent detach');
      };
    },
  });
  const registry = new Proxy(transport.registry, {
    get: (target, name) => {
      if (name !== 'announce') return bindTo(target, name);
      return (...args: Parameters<WorkerRegistry['announce']>): AnnouncementHandle => {
        const handle = target.announce(...args);
        return {
          touch: () => handle.touch(),
          dispose: () => {
            events.push('left the registry');
            return handle.dispose();
          },
        };
      };
    },
  });
  return new Proxy(transport, {
    get: (target, name) => (name === 'bus' ? bus : name === 'registry' ? registry : bindTo(target, name)),
  });
}

function bindTo(target: object, name: string | symbol): unknown {
  const value = Reflect.get(target, name) as unknown;
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}

describe.each(BUILDS)('draining a gateway (%s)', (build) => {
  let factory: TransportFactory;
  let observer: Transport;
  const sockets: ClientSocket[] = [];

  beforeEach(() => {
    factory = transportFactory(build, HEARTBEAT, 'gateway-drain');
    observer = factory.open('observer');
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await factory.cleanup();
  });

  it('leaves the registry even when a step before it fails, then rejects with the failure', async () => {
    const broken = (): RouteModule => ({
      connect: () => undefined,
      dispose: () => {
        throw new Error('a route module failed to stop');
      },
    });
    const { gateway } = await startGateway('gateway-a', factory.open('gateway-a'), [broken]);
    await waitFor(async () => (await liveIds(observer.registry, 'gateway')).includes('gateway-a'), {
      message: 'the gateway to be registered',
    });

    const failure = await gateway.drain().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(await liveIds(observer.registry, 'gateway')).not.toContain('gateway-a');
    expect(gateway.http.listening).toBe(false);
    expect(failure).toMatchObject({
      message: 'the gateway drain failed at: routing',
      errors: [expect.objectContaining({ message: 'a route module failed to stop' })],
    });
    // A second call settles with the first.
    await expect(gateway.drain()).rejects.toBe(failure);
  });

  it("sends each closed socket's detaches before it leaves the registry", async () => {
    const seenByWorker: string[] = [];
    const worker = fakeTerminalWorker(factory.open('terminal-1'), seenByWorker);
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const doneByGateway: string[] = [];
    const transport = recordingTransport(factory.open('gateway-b'), doneByGateway, gate);
    const { gateway, url } = await startGateway('gateway-b', transport);
    // The detach goes out once the server has closed: the moment an impatient drain moves on.
    gateway.http.once('close', openGate);
    await waitFor(async () => (await liveIds(transport.registry, 'terminal')).includes('terminal-1'), {
      message: 'the gateway to see the terminal worker',
    });
    const socket = await connectClient(url, await signToken('alice'));
    sockets.push(socket);
    await expect(socket.emitWithAck('terminal:create', { cols: 80, rows: 24 })).resolves.toMatchObject({
      success: true,
      session_id: 'session-1',
    });
    await waitFor(() => seenByWorker.includes('release'), { message: 'the create to be released' });

    await gateway.drain();
    expect(doneByGateway).toEqual(['sent detach', 'left the registry']);
    // In its inbox before the gateway left; read there in its own time.
    await waitFor(() => seenByWorker.includes('detach'), { message: 'the worker to get the detach' });
    await worker.dispose();
  });
});

import { rmSync } from 'node:fs';
import {
  connectClient,
  deletePrefix,
  isolatedAccounts,
  OutputCollector,
  SHARED_REDIS_URL,
  signToken,
  startService,
  TEST_JWT_SECRET,
  uniquePrefix,
  waitFor,
  type ClientSocket,
  type ServiceProcess,
} from '@ctos/testkit';
import { findSystemTools, loadTerminalWorkerConfig, localAccountsInRange, removeLocalAccounts } from '../src';
import { floodBytes, floodCommand, sampleOf, unackedBound, windowsOfOutput } from './flow-bound';
import { attach, openSession, type } from './harness';

/** Beats fast, so a killed worker is noticed quickly; the product default is 1 s × 3. */
const HEARTBEAT = { HEARTBEAT_INTERVAL_MS: '200', HEARTBEAT_MISSED_BEATS: '3' };
/** How long a client that stopped acking holds the PTY here (ms; default 15 s). */
const STALL_MS = 1500;
/** The workers run with the documented watermarks. */
const DEFAULTS = loadTerminalWorkerConfig({});
/** Ten high watermarks of output. */
const FLOOD_BYTES = windowsOfOutput(DEFAULTS, 10);

/** The worker process's own metrics, from its ops port. */
async function workerMetrics(worker: ServiceProcess): Promise<string> {
  return (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
}

describe('terminals across processes (two gateways, real Redis)', () => {
  const prefix = uniquePrefix('term');
  const common = { REDIS_URL: SHARED_REDIS_URL, REDIS_PREFIX: prefix, ...HEARTBEAT };
  // With REDIS_URL the workers run each user's shells as that user (when run as root, as CI is).
  const accounts = isolatedAccounts();
  const processes: ServiceProcess[] = [];
  const sockets: ClientSocket[] = [];
  let gatewayA: ServiceProcess;
  let gatewayB: ServiceProcess;
  let firstWorker: ServiceProcess;

  const startWorker = async () => {
    const worker = await startService('terminal-worker', {
      ...common,
      OPS_PORT: '0',
      ...(process.geteuid?.() === 0 ? accounts.env : { TERMINAL_ISOLATION: 'none' }),
      TERMINAL_SHELL: '/bin/bash',
      TERMINAL_SHELL_ARGS: '--norc --noprofile',
      TERMINAL_FLOW_STALL_MS: String(STALL_MS),
    });
    processes.push(worker);
    return worker;
  };
  const startGateway = async () => {
    const gateway = await startService('gateway', { ...common, PORT: '0', AUTH_JWT_SECRET: TEST_JWT_SECRET });
    processes.push(gateway);
    return gateway;
  };
  const connect = async (gateway: ServiceProcess, user = 'alice') => {
    const socket = await connectClient(`http://127.0.0.1:${gateway.port}`, await signToken(user));
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    firstWorker = await startWorker();
    [gatewayA, gatewayB] = await Promise.all([startGateway(), startGateway()]);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all(processes.map((p) => p.kill('SIGTERM')));
    await deletePrefix(SHARED_REDIS_URL, prefix);
    const { tools } = findSystemTools();
    await removeLocalAccounts(tools, await localAccountsInRange(tools, accounts.uidMin, accounts.uidMax));
    rmSync(accounts.homeRoot, { recursive: true, force: true });
  });

  it("delivers a worker's room emit to the user's sockets on both gateway processes", async () => {
    const onA = await connect(gatewayA, 'dora');
    const onB = await connect(gatewayB, 'dora');
    const out = await openSession(onA);
    const viaB = new OutputCollector(onB, out.sessionId);
    await attach(onB, viaB, 0);
    type(onA, out, 'echo across-gateways');
    await out.waitForText(/[\r\n]across-gateways\r\n/);
    await viaB.waitForText(/[\r\n]across-gateways\r\n/);
  });

  it('survives the SIGKILL of the gateway a client was on: reattached through the other, no byte lost or repeated', async () => {
    const first = await connect(gatewayA);
    const out = await openSession(first);
    type(first, out, 'for i in $(seq 1 300); do echo N$i; sleep 0.005; done; echo FIN');
    await out.waitForText(/N30\r\n/);
    await gatewayA.kill('SIGKILL');
    const second = await connect(gatewayB);
    const answer = await attach(second, out, out.seq);
    expect(answer).toMatchObject({ success: true, snapshot: false });
    await out.waitForText(/[\r\n]FIN\r\n/, 20_000);
    const numbers = [...out.text.matchAll(/^N(\d+)\r$/gm)].map((m) => Number(m[1]));
    expect(numbers).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    gatewayA = await startGateway();
  });

  it("holds a flood to a client that does not ack within the high watermark plus one read, by the worker process's own metrics", async () => {
    const bound = unackedBound(DEFAULTS);
    const socket = await connect(gatewayB, 'fran');
    const out = await openSession(socket, { flow_control: true });
    type(socket, out, floodCommand(FLOOD_BYTES));
    // The client never acks: the PTY stays paused until the stall limit (the worker's clock),
    // then the client stops holding it. The wait ends early if the bound is broken.
    await waitFor(
      async () => {
        const text = await workerMetrics(firstWorker);
        return (
          sampleOf(text, 'ctos_terminal_flow_stall_releases_total') > 0 ||
          sampleOf(text, 'ctos_terminal_flow_unacked_peak_bytes') > bound
        );
      },
      { message: 'the client released at the stall limit' },
    );
    const held = await workerMetrics(firstWorker);
    expect(sampleOf(held, 'ctos_terminal_flow_pauses_total')).toBeGreaterThan(0);
    expect(sampleOf(held, 'ctos_terminal_flow_unacked_peak_bytes')).toBeLessThanOrEqual(bound);
    await out.waitForText(/[\r\n]FLOOD-DONE\r\n/, 20_000);
    expect(floodBytes(out.text)).toBe(FLOOD_BYTES);
    expect(sampleOf(await workerMetrics(firstWorker), 'ctos_terminal_flow_unacked_peak_bytes')).toBeLessThanOrEqual(
      bound,
    );
  });

  it('tells the clients of a SIGKILLed terminal-worker worker_lost, for every session it held, and places new sessions elsewhere', async () => {
    const doomed = await startWorker();
    const socket = await connect(gatewayB, 'erin');
    // Two workers are live; open sessions until one lands on the doomed worker.
    const collectors: OutputCollector[] = [];
    for (let i = 0; i < 4; i++) collectors.push(await openSession(socket));
    const onDoomed = sampleOf(await workerMetrics(doomed), 'ctos_terminal_sessions');
    expect(onDoomed).toBeGreaterThan(0);
    await doomed.kill('SIGKILL');
    // The bound is a give-up, not the promise: the death deadline is the heartbeat's (600 ms here).
    await waitFor(() => collectors.filter((c) => c.closed).length === onDoomed, {
      timeoutMs: 10_000,
      message: `worker_lost for the ${onDoomed} sessions of the killed worker`,
    });
    const lost = collectors.filter((c) => c.closed);
    for (const c of lost) expect(c.closed).toMatchObject({ reason: 'worker_lost' });
    const list = await socket.emitWithAck('terminal:list', {});
    expect(list.success && list.sessions.map((s) => s.session_id).sort()).toEqual(
      collectors
        .filter((c) => !c.closed)
        .map((c) => c.sessionId)
        .sort(),
    );
    const fresh = await openSession(socket);
    type(socket, fresh, 'echo placed');
    await fresh.waitForText(/[\r\n]placed\r\n/);
  });
});

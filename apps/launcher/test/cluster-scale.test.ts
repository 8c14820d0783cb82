/**
 * A gateway added to a running process cluster (issue 21): it gets new connections through
 * nginx while every connection already open stays up and keeps getting its events — through
 * the handle (`addGateway`, as tests and the benchmark call it) and as an operator does it
 * on `npm run cluster` (`kill -USR2 <launcher pid>`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { MessageItem, TerminalCreateResult } from '@ctos/protocol';
import { createLogger } from '@ctos/runtime';
import { connectClient, isolatedUids, OutputCollector, waitFor, waitForValue, type ClientSocket } from '@ctos/testkit';
import { startCluster, type Cluster, type ClusterProcessInfo, type ClusterState } from '../src/cluster';
import { httpGet, metric } from './faults-support';

const IS_ROOT = process.geteuid?.() === 0;
const MAIN = path.join(__dirname, '..', 'dist', 'cluster-main.js');

/** Clients connected before the gateway is added: enough that nginx's hash spreads them over both gateways. */
const CLIENTS = 8;

/** Loopback addresses tried for new connections until one lands on the new gateway (nginx hashes the address). */
const NEW_ADDRESSES = 64;

/** bash without rc files or profiles: a prompt and output the tests can match exactly. */
const SHELL_ENV = {
  // Run as root, each user's shells get a Unix account: from a uid range of this test's own.
  ...isolatedUids().env,
  TERMINAL_SHELL: '/bin/bash',
  TERMINAL_SHELL_ARGS: '--norc --noprofile',
};

/** A shell line that prints the Unix account, then `tick-1`, `tick-2`… until Ctrl-C. */
const TICKING = 'echo "name=$(id -un)"; i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.1; done\r';

/** Options of `connectClient` with the local address to connect from (passed on to `ws`). */
type ConnectOptions = Parameters<typeof connectClient>[2] & { localAddress?: string };

/** One socket through nginx with its terminal session, and every disconnect it saw. */
interface Client {
  user: string;
  socket: ClientSocket;
  sessionId: string;
  output: OutputCollector;
  disconnects: string[];
}

async function createSession(socket: ClientSocket): Promise<string> {
  const ack = await socket.emitWithAck('terminal:create', { cols: 80, rows: 24 });
  if (!ack.success) throw new Error(`terminal:create failed: ${ack.code} ${ack.error}`);
  return (ack as TerminalCreateResult).session_id;
}

/** The ticks a terminal printed, in order (not the command line's echo). */
function ticks(text: string): number[] {
  return [...text.matchAll(/(?<=[\r\n])tick-(\d+)\r\n/g)].map((m) => Number(m[1]));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Authenticated sockets on a gateway, from its /metrics. */
function socketsOn(gateway: ClusterProcessInfo): Promise<number> {
  return metric(gateway, 'ctos_gateway_sockets');
}

describe('a gateway added to a running process cluster', () => {
  let cluster: Cluster;
  const clients: Client[] = [];
  const extraSockets: ClientSocket[] = [];
  const running = (role: ClusterProcessInfo['role']): ClusterProcessInfo[] =>
    cluster.processes().filter((p) => p.role === role && !p.exit);

  const connect = async (user: string, localAddress: string): Promise<ClientSocket> =>
    connectClient(cluster.url, await cluster.signToken(user), { localAddress } as ConnectOptions);

  beforeAll(async () => {
    cluster = await startCluster({
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: '0',
        LOG_LEVEL: 'warn',
        CLUSTER_GATEWAYS: '2',
        CLUSTER_TERMINAL_WORKERS: '1',
        CLUSTER_AI_WORKERS: '0',
        CLUSTER_MESSAGE_WORKERS: '1',
        ...SHELL_ENV,
      },
      logger: createLogger({ service: 'cluster-scale-test', level: 'silent' }),
    });
  });

  afterAll(async () => {
    for (const socket of [...clients.map((c) => c.socket), ...extraSockets]) socket.close();
    await cluster?.stop();
  });

  it('sends new connections to it while every existing one stays up and keeps getting its events', async () => {
    const [first, second] = running('gateway');
    for (let n = 1; n <= CLIENTS; n++) {
      const user = `scale-${n}`;
      const socket = await connect(user, `127.0.${n}.1`);
      const disconnects: string[] = [];
      socket.on('disconnect', (reason) => disconnects.push(reason));
      const sessionId = await createSession(socket);
      const output = new OutputCollector(socket, sessionId);
      socket.emit('terminal:input', { session_id: sessionId, data: TICKING });
      clients.push({ user, socket, sessionId, output, disconnects });
    }
    for (const { output } of clients) await output.waitForText(/[\r\n]tick-2\r\n/);
    const held = await Promise.all([socketsOn(first!), socketsOn(second!)]);
    expect(held[0]! + held[1]!).toBe(CLIENTS);

    const added = await cluster.addGateway();

    expect([added.role, added.pid > 0 && alive(added.pid), added.port > 0]).toEqual(['gateway', true, true]);
    expect(running('gateway').map((g) => g.name)).toEqual([first!.name, second!.name, added.name]);
    const state = JSON.parse(readFileSync(cluster.stateFile, 'utf8')) as ClusterState;
    expect(state.processes.find((p) => p.name === added.name)).toMatchObject({ pid: added.pid, port: added.port });
    expect((await httpGet(added.port, '/readyz')).status).toBe(200);

    // New connections through nginx reach the new gateway: some loopback address hashes to it.
    let landed: ClientSocket | undefined;
    for (let n = 1; n <= NEW_ADDRESSES && !landed; n++) {
      const socket = await connect('newcomer', `127.0.${100 + n}.1`);
      extraSockets.push(socket);
      if ((await socketsOn(added)) === 1) landed = socket;
      else socket.close();
    }
    expect(landed).toBeDefined();
    const newSession = await createSession(landed!);
    const newOutput = new OutputCollector(landed!, newSession);
    landed!.emit('terminal:input', { session_id: newSession, data: 'echo on-the-new-gateway-$((6*7))\r' });
    await newOutput.waitForText(/[\r\n]on-the-new-gateway-42\r\n/);

    // Every existing client: its terminal kept printing, whole, on the same connection...
    for (const { user, socket, output, disconnects } of clients) {
      const seen = ticks(output.text).length;
      await waitFor(() => ticks(output.text).length >= seen + 3, {
        message: `${user}'s ticks after the reload (connected: ${socket.connected}, disconnects: ${disconnects.join()})`,
      });
    }
    for (const { socket, sessionId, output } of clients) {
      socket.emit('terminal:input', { session_id: sessionId, data: '\x03echo done-$((6*7))\r' });
      await output.waitForText(/[\r\n]done-42\r\n/);
    }
    for (const { user, socket, output, disconnects } of clients) {
      const printed = ticks(output.text);
      expect([user, socket.connected, disconnects, output.errors]).toEqual([user, true, [], []]);
      expect(printed).toEqual(Array.from({ length: printed.length }, (_, i) => i + 1));
    }
    // ...and room events reach it: a message to every user arrives on every socket.
    const arrived = clients.map(
      ({ socket }) => new Promise<MessageItem>((resolve) => socket.once('message:new', resolve)),
    );
    const api = running('message-worker')[0]!.ports.api!;
    const response = await fetch(`http://127.0.0.1:${api}/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${cluster.messageApiTokens[0]}`,
        'idempotency-key': 'cluster-scale-after-the-reload',
      },
      body: JSON.stringify({ user_ids: clients.map((c) => c.user), source: 'cluster-scale', title: 'after' }),
    });
    expect(response.status).toBe(201);
    expect((await Promise.all(arrived)).map((m) => m.title)).toEqual(clients.map(() => 'after'));
    // Nobody moved: once the probes that landed there are gone, the first two gateways hold
    // exactly the sockets they held.
    for (const socket of extraSockets) socket.close();
    await waitFor(async () => (await Promise.all([socketsOn(first!), socketsOn(second!)])).join() === held.join(), {
      message: `the first gateways to hold ${held.join(' and ')} sockets again`,
    });
  });

  it('stops the added gateway with the rest and leaves no process, account or state folder', async () => {
    const accounts = clients.map((c) => /[\r\n]name=(\S+)\r\n/.exec(c.output.text)?.[1]);
    expect(accounts.every(Boolean)).toBe(true);
    for (const socket of [...clients.map((c) => c.socket), ...extraSockets]) socket.close();
    const pids = cluster.processes().map((p) => p.pid);
    expect(running('gateway')).toHaveLength(3);

    await cluster.stop();

    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(cluster.stateDir)).toBe(false);
    if (IS_ROOT) {
      const left = accounts.filter((name) => spawnSync('getent', ['passwd', name!]).status !== 2);
      expect(left).toEqual([]);
    }
  });
});

describe('npm run cluster, asked for one more gateway with kill -USR2', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('adds a gateway behind nginx, keeps the open connection, lists it in cluster.json and stops it on Ctrl-C', async () => {
    child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: '0',
        CLUSTER_GATEWAYS: '1',
        CLUSTER_TERMINAL_WORKERS: '1',
        CLUSTER_AI_WORKERS: '0',
        CLUSTER_MESSAGE_WORKERS: '0',
        CLUSTER_USER: 'operator',
        ...SHELL_ENV,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let printed = '';
    child.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    const url = await waitForValue(() => /URL:\s+(\S+)/.exec(printed)?.[1], { timeoutMs: 60_000 });
    const token = /localStorage\.setItem\('ctos\.token', '([^']+)'\)/.exec(printed)![1]!;
    const stateFile = /processes:\s+(\S+)/.exec(printed)![1]!;
    // The command the banner gives the operator.
    const launcherPid = Number(/\+1 gateway:\s+kill -USR2 (\d+)/.exec(printed)?.[1]);
    expect(launcherPid).toBe(child.pid);

    const socket = await connectClient(url, token);
    const disconnects: string[] = [];
    socket.on('disconnect', (reason) => disconnects.push(reason));
    try {
      const sessionId = await createSession(socket);
      const output = new OutputCollector(socket, sessionId);

      process.kill(launcherPid, 'SIGUSR2');
      const added = await waitForValue(() => /(gateway-\d+) added \(pid (\d+), port (\d+)\)/.exec(printed), {
        timeoutMs: 30_000,
        message: 'the launcher to report the new gateway',
      });
      const [, name, pid, port] = added;
      expect(name).toBe('gateway-2');
      const state = JSON.parse(readFileSync(stateFile, 'utf8')) as ClusterState;
      const gateways = state.processes.filter((p) => p.role === 'gateway' && !p.exit);
      expect(gateways.map((g) => [g.name, g.pid, g.port])).toEqual([
        ['gateway-1', gateways[0]!.pid, gateways[0]!.port],
        [name, Number(pid), Number(port)],
      ]);

      const upstreams = readFileSync(
        path.join(path.dirname(stateFile), 'nginx', 'conf', 'upstream-servers.conf'),
        'utf8',
      );
      expect(upstreams).toContain(`server 127.0.0.1:${port} `);

      socket.emit('terminal:input', { session_id: sessionId, data: 'echo still-here-$((6*7))\r' });
      await output.waitForText(/[\r\n]still-here-42\r\n/);
      expect([socket.connected, disconnects]).toEqual([true, []]);
      socket.close();

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(alive(Number(pid))).toBe(false);
    } finally {
      socket.close();
      // The launcher keeps its state folder for the logs; this test's is not needed.
      spawnSync('rm', ['-rf', path.dirname(stateFile)]);
    }
  });
});

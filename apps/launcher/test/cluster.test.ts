import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AiStreamEndEvent, TerminalAttachResult, TerminalCreateResult } from '@ctos/protocol';
import { createLogger } from '@ctos/runtime';
import { connectClient, OutputCollector, waitFor, type ClientSocket, isolatedUids } from '@ctos/testkit';
import { createRedisTransport, type Transport } from '@ctos/transport';
import { startCluster, type Cluster, type ClusterProcessInfo, type ClusterState } from '../src/cluster';

/** A shell prompt and input the tests can match exactly: bash without rc files or profiles. */
const TEST_ENV = {
  // Run as root, each user's shells get a Unix account: from a uid range of this test's own.
  ...isolatedUids().env,
  TERMINAL_SHELL: '/bin/bash',
  TERMINAL_SHELL_ARGS: '--norc --noprofile',
  // Faster load updates and death detection than production's 1 s: placement reads them.
  HEARTBEAT_INTERVAL_MS: '250',
};

/** GET `http://127.0.0.1:port/path` → body. */
function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of an unlabelled-but-for-`service` gauge in a process's /metrics. */
async function gauge(info: ClusterProcessInfo, name: string): Promise<number> {
  const port = info.role === 'gateway' ? info.port : info.ports.ops!;
  const text = await httpGet(port, '/metrics');
  const match = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?)$`, 'm'));
  if (!match) throw new Error(`${info.name} has no ${name}`);
  return Number(match[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function createSession(socket: ClientSocket): Promise<string> {
  const ack = await socket.emitWithAck('terminal:create', { cols: 80, rows: 24 });
  if (!ack.success) throw new Error(`terminal:create failed: ${ack.code} ${ack.error}`);
  return (ack as TerminalCreateResult).session_id;
}

describe('the process cluster (npm run cluster), through nginx', () => {
  let cluster: Cluster;
  const sockets: ClientSocket[] = [];
  const connect = async (user: string, options: Parameters<typeof connectClient>[2] = {}): Promise<ClientSocket> => {
    const socket = await connectClient(cluster.url, await cluster.signToken(user), options);
    sockets.push(socket);
    return socket;
  };
  const role = (name: ClusterProcessInfo['role']): ClusterProcessInfo[] =>
    cluster.processes().filter((p) => p.role === name && !p.exit);

  beforeAll(async () => {
    cluster = await startCluster({
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', LOG_LEVEL: 'warn', ...TEST_ENV },
      logger: createLogger({ service: 'cluster-test', level: 'silent' }),
    });
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('lists every process it started, with role, pid and port, in cluster.json', () => {
    const state = JSON.parse(readFileSync(cluster.stateFile, 'utf8')) as ClusterState;
    expect(state.url).toBe(cluster.url);
    const roles = state.processes.map((p) => p.role);
    for (const expected of ['redis', 'nginx', 'gateway', 'terminal-worker', 'message-worker']) {
      expect(roles).toContain(expected);
    }
    expect(roles.filter((r) => r === 'gateway')).toHaveLength(2);
    expect(roles.filter((r) => r === 'terminal-worker')).toHaveLength(2);
    for (const p of state.processes) {
      expect([p.name, p.pid > 0, p.port > 0, alive(p.pid)]).toEqual([p.name, true, true, true]);
    }
    expect(state.processes.find((p) => p.role === 'nginx')!.port).toBe(cluster.port);
  });

  it('serves the web page with its Content-Security-Policy', async () => {
    const response = await fetch(`${cluster.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it.each([['websocket'], ['polling']])('runs a terminal session over %s', async (transport) => {
    const socket = await connect('alice', { transports: [transport as 'websocket' | 'polling'] });
    const sessionId = await createSession(socket);
    const output = new OutputCollector(socket, sessionId);
    socket.emit('terminal:input', { session_id: sessionId, data: 'echo through-nginx-$((6*7))\r' });
    await output.waitForText(/[\r\n]through-nginx-42\r\n/);
    await socket.emitWithAck('terminal:close', { session_id: sessionId });
  });

  it('delivers a message posted to the producer API to the user through nginx', async () => {
    const socket = await connect('erin');
    const received = new Promise<{ title: string }>((resolve) => socket.once('message:new', resolve));
    const api = role('message-worker')[0]!.ports.api!;
    const response = await fetch(`http://127.0.0.1:${api}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${cluster.messageApiTokens[0]}` },
      body: JSON.stringify({ user_id: 'erin', source: 'cluster-test', title: 'hello through nginx' }),
    });
    expect(response.status).toBe(201);
    expect((await received).title).toBe('hello through nginx');
  });

  it('streams an AI reply from the Anthropic stand-in through nginx', async () => {
    expect(cluster.skipped).not.toContain('ai-worker');
    const socket = await connect('dana');
    const conversationId = randomUUID();
    let text = '';
    socket.on('ai:stream:chunk', (event) => {
      if (event.conversation_id === conversationId) text += event.chunk;
    });
    const ended = new Promise<AiStreamEndEvent>((resolve, reject) => {
      socket.on('ai:stream:end', (event) => {
        if (event.conversation_id === conversationId) resolve(event);
      });
      socket.on('ai:error', (event) => reject(new Error(`ai:error ${event.code}: ${event.error}`)));
    });
    const ack = await socket
      .timeout(10_000)
      .emitWithAck('ai:message', { conversation_id: conversationId, content: 'hello cluster' });
    expect(ack.success).toBe(true);
    expect((await ended).stop_reason).toBe('end_turn');
    expect(text).toContain('You said: "hello cluster".');
  });

  it('loses no terminal output when the client’s gateway is SIGKILLed and it reconnects through nginx', async () => {
    const gateways = role('gateway');
    const socketsOn = (): Promise<number[]> => Promise.all(gateways.map((g) => gauge(g, 'ctos_gateway_sockets')));
    // Earlier tests' sockets are closed; wait until the gateways have seen it.
    await waitFor(async () => (await socketsOn()).every((n) => n === 0), { message: 'the gateways to be empty' });
    const token = await cluster.signToken('bob');
    let socket = await connectClient(cluster.url, token);
    sockets.push(socket);
    const sessionId = await createSession(socket);
    const output = new OutputCollector(socket, sessionId);
    socket.emit('terminal:input', {
      session_id: sessionId,
      data: 'for i in $(seq 1 60); do echo line-$i; sleep 0.03; done; echo fin-$((40+2))\r',
    });
    await output.waitForText('line-5\r\n');

    const victim = gateways[(await socketsOn()).findIndex((n) => n === 1)]!;
    const survivor = gateways.find((g) => g !== victim)!;
    process.kill(victim.pid, 'SIGKILL');
    await waitFor(() => !socket.connected, { message: 'the client to notice its gateway died' });
    socket.close();

    socket = await connectClient(cluster.url, token);
    sockets.push(socket);
    expect(await gauge(survivor, 'ctos_gateway_sockets')).toBe(1);
    output.moveTo(socket);
    output.beginAttach();
    const ack = await socket.emitWithAck('terminal:attach', { session_id: sessionId, since: output.seq });
    expect(ack.success).toBe(true);
    const replay = ack as unknown as TerminalAttachResult;
    output.addReplay(replay.data, replay.seq, replay.snapshot);
    await output.waitForText(/[\r\n]fin-42\r\n/);

    const lines = [...output.text.matchAll(/(?<=[\r\n])line-(\d+)\r\n/g)].map((m) => Number(m[1]));
    expect(lines).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    await socket.emitWithAck('terminal:close', { session_id: sessionId });
  });

  it('puts a gateway started at run time behind nginx', async () => {
    const added = await cluster.addProcess('gateway');
    expect(added.port).toBeGreaterThan(0);
    // nginx hashes the client address: some loopback address lands on the new gateway.
    await waitFor(
      async () => {
        for (let n = 1; n <= 40; n++) {
          const socket = await connect('frank', { localAddress: `127.0.${n}.1` } as Parameters<
            typeof connectClient
          >[2]);
          const onNew = await gauge(added, 'ctos_gateway_sockets');
          socket.close();
          if (onNew > 0) return true;
        }
        return false;
      },
      { timeoutMs: 15_000, message: 'a client to land on the new gateway' },
    );
  });

  it('places new sessions on a third terminal-worker started at run time (least loaded)', async () => {
    const socket = await connect('carol');
    const before = role('terminal-worker');
    expect(before).toHaveLength(2);
    // Give each running worker at least one session, so the new one is the least loaded.
    await waitFor(
      async () => {
        const counts = await Promise.all(before.map((w) => gauge(w, 'ctos_terminal_sessions')));
        if (counts.every((n) => n > 0)) return true;
        await createSession(socket);
        return false;
      },
      { timeoutMs: 15_000, message: 'both workers to hold a session' },
    );

    const third = await cluster.addProcess('terminal-worker');
    const observer: Transport = createRedisTransport({
      redis: { url: cluster.redisUrl },
      prefix: cluster.redisPrefix,
      id: 'cluster-test-observer',
    });
    try {
      await waitFor(async () => (await observer.registry.live('terminal')).length === 3, {
        message: 'the third terminal-worker to join the registry',
      });
    } finally {
      await observer.dispose();
    }
    const counts = await Promise.all(before.map((w) => gauge(w, 'ctos_terminal_sessions')));
    await createSession(socket);
    expect(await gauge(third, 'ctos_terminal_sessions')).toBe(1);
    expect(await Promise.all(before.map((w) => gauge(w, 'ctos_terminal_sessions')))).toEqual(counts);
  });

  it('stops every process it started', async () => {
    const pids = cluster.processes().map((p) => p.pid);
    await cluster.stop();
    expect(pids.filter(alive)).toEqual([]);
  });
});

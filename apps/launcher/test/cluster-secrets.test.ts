import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { startStandin, type Standin } from '@ctos/anthropic-standin';
import type { AiStreamEndEvent, TerminalCreateResult } from '@ctos/protocol';
import { createLogger } from '@ctos/runtime';
import { connectClient, OutputCollector, type ClientSocket, isolatedUids } from '@ctos/testkit';
import { Redis } from 'ioredis';
import { startCluster, type Cluster } from '../src/cluster';

/** What any process of the same user can read about `pid`: its environment and command line. */
function exposedBy(pid: number): string {
  return ['environ', 'cmdline'].map((part) => readFileSync(`/proc/${pid}/${part}`, 'utf8')).join('\n');
}

/** `pids` and every process below them (nginx's workers, a worker's shells), as /proc lists them now. */
function withDescendants(pids: number[]): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after the last `)`.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // It exited while we looked: not one of ours to check.
    }
  }
  const found = new Set(pids);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, parent] of parentOf) {
      if (found.has(parent) && !found.has(pid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return [...found];
}

const mode = (file: string): number => statSync(file).mode & 0o777;

describe('the process cluster keeps its secrets out of reach', () => {
  const anthropicKey = `sk-test-${randomBytes(24).toString('hex')}`;
  let standin: Standin;
  let cluster: Cluster;
  const sockets: ClientSocket[] = [];
  let secrets: Record<string, string>;

  beforeAll(async () => {
    // A stand-in that refuses any other key: an AI reply proves the key reached the worker.
    standin = await startStandin({ apiKey: anthropicKey });
    cluster = await startCluster({
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: '0',
        LOG_LEVEL: 'warn',
        CLUSTER_GATEWAYS: '1',
        CLUSTER_TERMINAL_WORKERS: '1',
        TERMINAL_SHELL: '/bin/bash',
        TERMINAL_SHELL_ARGS: '--norc --noprofile',
        ...isolatedUids().env,
        ANTHROPIC_API_KEY: anthropicKey,
        ANTHROPIC_BASE_URL: standin.url,
      },
      logger: createLogger({ service: 'cluster-secrets-test', level: 'silent' }),
    });
    secrets = {
      jwtSecret: cluster.jwtSecret,
      redisPassword: cluster.redisPassword,
      anthropicKey,
      ...Object.fromEntries(cluster.messageApiTokens.map((token, i) => [`messageApiToken${i}`, token])),
    };
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await cluster?.stop();
    await standin?.close();
  });

  const connect = async (user: string): Promise<ClientSocket> => {
    const socket = await connectClient(cluster.url, await cluster.signToken(user));
    sockets.push(socket);
    return socket;
  };

  it('works with every secret given as a file: a token, a terminal, an AI reply and a message', async () => {
    const socket = await connect('alice');
    const create = await socket.emitWithAck('terminal:create', { cols: 80, rows: 24 });
    expect(create.success).toBe(true);
    const output = new OutputCollector(socket, (create as TerminalCreateResult).session_id);
    socket.emit('terminal:input', { session_id: output.sessionId, data: 'echo secrets-$((6*7))\r' });
    await output.waitForText(/[\r\n]secrets-42\r\n/);

    const conversationId = randomUUID();
    const ended = new Promise<AiStreamEndEvent>((resolve, reject) => {
      socket.on('ai:stream:end', (event) => event.conversation_id === conversationId && resolve(event));
      socket.on('ai:error', (event) => reject(new Error(`ai:error ${event.code}: ${event.error}`)));
    });
    const ack = await socket
      .timeout(10_000)
      .emitWithAck('ai:message', { conversation_id: conversationId, content: 'hello' });
    expect(ack.success).toBe(true);
    expect((await ended).stop_reason).toBe('end_turn');

    const received = new Promise<{ title: string }>((resolve) => socket.once('message:new', resolve));
    const api = cluster.processes().find((p) => p.role === 'message-worker')!.ports.api!;
    const response = await fetch(`http://127.0.0.1:${api}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${cluster.messageApiTokens[0]}` },
      body: JSON.stringify({ user_id: 'alice', source: 'cluster-secrets', title: 'token from a file' }),
    });
    expect(response.status).toBe(201);
    expect((await received).title).toBe('token from a file');
  });

  it('puts no secret in the environment or command line of any process it started, or of their children', () => {
    const started = cluster.processes().filter((p) => !p.exit);
    expect(started.map((p) => p.role).sort()).toEqual(
      ['ai-worker', 'gateway', 'message-worker', 'nginx', 'redis', 'terminal-worker'].sort(),
    );
    const pids = withDescendants(started.map((p) => p.pid));
    // nginx's workers at least, and the terminal-worker's shell.
    expect(pids.length).toBeGreaterThan(started.length);
    for (const pid of pids) {
      let exposed: string;
      try {
        exposed = exposedBy(pid);
      } catch {
        continue; // a short-lived child that has exited since
      }
      for (const [name, value] of Object.entries(secrets)) {
        expect([pid, name, exposed.includes(value)]).toEqual([pid, name, false]);
      }
    }
  });

  it('keeps the secret files in a folder only its own user may enter, inside a state folder no one may list', () => {
    const secretsDir = path.join(cluster.stateDir, 'secrets');
    expect(mode(cluster.stateDir)).toBe(0o711);
    expect(mode(secretsDir)).toBe(0o700);
    const files = readdirSync(secretsDir).sort();
    expect(files).toEqual(['anthropic_api_key', 'auth_jwt_secret', 'message_api_tokens', 'redis_password']);
    for (const file of files) expect([file, mode(path.join(secretsDir, file))]).toEqual([file, 0o600]);
    expect(mode(cluster.stateFile)).toBe(0o600);
  });

  it('runs a Redis that refuses a client without the password, and accepts its URL', async () => {
    const port = cluster.processes().find((p) => p.role === 'redis')!.port;
    // RESP2 and no ready check: the command itself is what Redis refuses.
    const anonymous = new Redis({ port, host: '127.0.0.1', protocol: 2, enableReadyCheck: false });
    anonymous.on('error', () => undefined); // the refusal is asserted on the command below
    const authenticated = new Redis(cluster.redisUrl, { protocol: 2 });
    try {
      await expect(anonymous.ping()).rejects.toThrow(/^NOAUTH Authentication required/);
      expect(await authenticated.ping()).toBe('PONG');
    } finally {
      anonymous.disconnect();
      authenticated.disconnect();
    }
  });

  it('removes the secret files when it stops', async () => {
    const secretsDir = path.join(cluster.stateDir, 'secrets');
    await cluster.stop();
    expect(existsSync(secretsDir)).toBe(false);
  });
});

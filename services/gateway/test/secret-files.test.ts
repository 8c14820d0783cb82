import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  connectClient,
  freePort,
  signToken,
  startOwnRedis,
  startService,
  uniquePrefix,
  type OwnRedis,
  waitFor,
  type ServiceProcess,
  runServiceToExit,
} from '@ctos/testkit';

/** What another process of the same user could read about `pid`: its environment and command line. */
function exposedBy(pid: number): string {
  return ['environ', 'cmdline'].map((part) => readFileSync(`/proc/${pid}/${part}`, 'utf8')).join('\n');
}

describe('services given their secrets only as files (npx tsc -b first)', () => {
  const secrets = {
    redisPassword: randomBytes(32).toString('hex'),
    jwtSecret: randomBytes(32).toString('hex'),
    apiToken: randomBytes(32).toString('hex'),
  };
  const prefix = uniquePrefix('secret-files');
  let dir: string;
  let redis: OwnRedis;
  const processes: ServiceProcess[] = [];
  let gateway: ServiceProcess;
  let apiPort: number;
  /** Written as `openssl rand -hex 32 > FILE` writes them: with a line break at the end. */
  const secretFile = (name: string, value: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, `${value}\n`, { mode: 0o600 });
    return file;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ctos-secrets-'));
    redis = await startOwnRedis({ password: secrets.redisPassword });
    const common = {
      REDIS_URL: redis.url,
      REDIS_PASSWORD_FILE: secretFile('redis_password', secrets.redisPassword),
      REDIS_PREFIX: prefix,
    };
    apiPort = await freePort();
    processes.push(
      await startService('message-worker', {
        ...common,
        OPS_PORT: '0',
        MESSAGE_API_PORT: String(apiPort),
        MESSAGE_API_TOKENS_FILE: secretFile('message_api_tokens', secrets.apiToken),
      }),
    );
    gateway = await startService('gateway', {
      ...common,
      PORT: '0',
      AUTH_JWT_SECRET_FILE: secretFile('auth_jwt_secret', secrets.jwtSecret),
    });
    processes.push(gateway);
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGTERM')));
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connect to a Redis that requires a password, and work end to end with the secrets from the files; the gateway is ready without terminal- or ai-workers, whose events answer UNAVAILABLE', async () => {
    // Every Redis connection up (authenticated with the password from its file), and the
    // gateway sees the message-worker through Redis; no terminal or AI worker runs here.
    const failing = async (service: ServiceProcess): Promise<string[]> =>
      ((await (await fetch(`http://127.0.0.1:${service.port}/readyz`)).json()) as { failing: string[] }).failing;
    await waitFor(async () => (await failing(processes[0]!)).length === 0, {
      message: 'the message-worker to be ready',
    });
    // Ready although no terminal- or ai-worker runs (those events answer UNAVAILABLE),
    // and the gauge says which kinds are live.
    await waitFor(async () => (await failing(gateway)).length === 0, { message: 'the gateway to be ready' });
    const metrics = await (await fetch(`http://127.0.0.1:${gateway.port}/metrics`)).text();
    const live = [...metrics.matchAll(/^ctos_gateway_live_workers\{kind="(\w+)"[^}]*\} (\d+)$/gm)];
    expect(Object.fromEntries(live.map(([, kind, count]) => [kind, Number(count)]))).toEqual({
      ai: 0,
      message: 1,
      terminal: 0,
    });
    const socket = await connectClient(
      `http://127.0.0.1:${gateway.port}`,
      await signToken('alice', { secret: secrets.jwtSecret }),
    );
    try {
      const received = new Promise<{ title: string }>((resolve) => socket.once('message:new', resolve));
      const response = await fetch(`http://127.0.0.1:${apiPort}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secrets.apiToken}` },
        body: JSON.stringify({ user_id: 'alice', source: 'secret-files', title: 'from a file' }),
      });
      expect(response.status).toBe(201);
      expect((await received).title).toBe('from a file');
      // The kinds with no worker answer UNAVAILABLE, on a gateway that stays ready.
      const ai = await socket.emitWithAck('ai:message', { conversation_id: 'no-worker', content: 'hello' });
      const terminal = await socket.emitWithAck('terminal:create', { cols: 80, rows: 24 });
      expect([ai.success ? 'ok' : ai.code, terminal.success ? 'ok' : terminal.code]).toEqual([
        'UNAVAILABLE',
        'UNAVAILABLE',
      ]);
    } finally {
      socket.close();
    }
  });

  it('hold no secret in their environment or command line, nor print one', () => {
    for (const service of processes) {
      const exposed = exposedBy(service.pid);
      const printed = service.lines.join('\n');
      for (const [name, value] of Object.entries(secrets)) {
        expect([service.pid, name, exposed.includes(value), printed.includes(value)]).toEqual([
          service.pid,
          name,
          false,
          false,
        ]);
      }
    }
  });

  it('refuse to start, naming the variable and the path, when a secret file cannot be read', async () => {
    const missing = path.join(dir, 'no-such-secret');
    const { code, output } = await runServiceToExit('gateway', { REDIS_URL: redis.url, AUTH_JWT_SECRET_FILE: missing });
    expect(code).toBe(2);
    expect(output).toContain(`AUTH_JWT_SECRET_FILE: cannot read ${missing} (ENOENT)`);
  });

  it('refuse to start when a secret is given both ways, without printing it', async () => {
    const { code, output } = await runServiceToExit('gateway', {
      REDIS_URL: redis.url,
      AUTH_JWT_SECRET: secrets.jwtSecret,
      AUTH_JWT_SECRET_FILE: path.join(dir, 'auth_jwt_secret'),
    });
    expect(code).toBe(2);
    expect(output).toContain('AUTH_JWT_SECRET and AUTH_JWT_SECRET_FILE are both set');
    expect(output).not.toContain(secrets.jwtSecret);
  });
});

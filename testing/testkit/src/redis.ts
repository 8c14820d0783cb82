import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports';
import { waitFor } from './wait-for';

/** The shared Redis every test may use, with its own key prefix (never flushed). */
export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

/** A key prefix no other test run uses. */
export function uniquePrefix(name = 'test'): string {
  return `ctos-test-${name}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix` (SCAN + DEL; other keys are left alone). */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { protocol: 2, lazyConnect: false });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** A `redis-server` of the test's own, which it may kill, pause and restart. */
export interface OwnRedis {
  /** Without the password, if it has one. */
  url: string;
  port: number;
  /** The password it requires (`requirepass`), if one was asked for. */
  readonly password: string | undefined;
  readonly process: ChildProcess;
  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT…). */
  signal(signal: NodeJS.Signals): void;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@link startOwnRedis}. */
export interface OwnRedisOptions {
  /** Require this password; it is given on the server's standard input, not its command line. */
  password?: string;
}

/**
 * Starts `redis-server` on a free loopback port with AOF in a temporary directory
 * (`appendfsync everysec`, the persistence the compose file ships: a Redis
 * process crash loses no acknowledged write; a host crash may lose the last second).
 */
export async function startOwnRedis(options: OwnRedisOptions = {}): Promise<OwnRedis> {
  const { password } = options;
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'ctos-redis-'));
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        dir,
        // Last: read more configuration from standard input (the password).
        ...(password === undefined ? [] : ['-']),
      ],
      { stdio: [password === undefined ? 'ignore' : 'pipe', 'ignore', 'ignore'] },
    );
    if (password !== undefined) child.stdin!.end(`requirepass ${password}\n`);
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      password,
      protocol: 2,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      await waitFor(
        async () => {
          if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
          return (await probe.ping()) === 'PONG';
        },
        { message: 'redis-server did not start' },
      );
    } finally {
      probe.disconnect();
    }
  };
  await launch();
  const exited = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    password,
    get process() {
      return child;
    },
    signal: (signal) => {
      child.kill(signal);
    },
    restart: async () => {
      await exited();
      await launch();
    },
    stop: async () => {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

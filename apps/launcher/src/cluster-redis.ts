import { existsSync } from 'node:fs';
import path from 'node:path';
import { LOOPBACK } from './cluster-util';

/**
 * The `redis-server` binary: the first on PATH, or Debian's.
 * @throws Error with the install command when there is none.
 */
export function findRedisServer(pathVariable = ''): string {
  const dirs = [...pathVariable.split(':').filter((dir) => path.isAbsolute(dir)), '/usr/bin', '/usr/local/bin'];
  const found = dirs.map((dir) => path.join(dir, 'redis-server')).find((file) => existsSync(file));
  if (!found) throw new Error('redis-server is not installed. Install it with: sudo apt-get install -y redis-server');
  return found;
}

/**
 * The arguments and standard input of the run's `redis-server`: loopback on `port`, AOF
 * in `dir` with `appendfsync everysec` as docker-compose ships it (a Redis process crash
 * loses no acknowledged write; a host crash may lose the last second), and its password
 * on standard input (`-`: read configuration from stdin), never on its command line.
 * With `replicaOf` it starts as a replica of the primary on that port; any of them may
 * be made a replica later (by a Sentinel), so each has the password for its primary too.
 * A replica's first sync starts at once (`repl-diskless-sync-delay 0`), not 5 s later.
 */
export function redisCommand(options: { port: number; dir: string; password: string; replicaOf?: number }): {
  args: string[];
  stdin: string;
} {
  const replica = options.replicaOf === undefined ? [] : ['--replicaof', LOOPBACK, String(options.replicaOf)];
  return {
    args: [
      '-',
      '--port',
      String(options.port),
      '--bind',
      LOOPBACK,
      '--dir',
      options.dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--repl-diskless-sync-delay',
      '0',
      ...replica,
    ],
    stdin: `requirepass ${options.password}\nmasterauth ${options.password}\n`,
  };
}

/**
 * The configuration file of a Sentinel on `port` watching the primary on `primaryPort`
 * as master group `name` (quorum 1: the only Sentinel decides), declaring it down after
 * `downAfterMs` without an answer, and requiring the same password of its own clients
 * (`REDIS_SENTINEL_AUTH`). It holds the password: written 0600, in a folder only root may
 * enter (the Sentinel rewrites it 0644); the
 * Sentinel rewrites it as it learns (replicas, failovers), so it must stay writable.
 */
export function sentinelConfig(options: {
  port: number;
  primaryPort: number;
  name: string;
  password: string;
  downAfterMs: number;
  dir: string;
}): string {
  const { name } = options;
  return [
    `port ${options.port}`,
    `bind ${LOOPBACK}`,
    `dir ${options.dir}`,
    // Its own password too: users' shells run on this machine, and a Sentinel anyone may
    // talk to can be told to name their own server as the primary, which the services
    // would then send their password to.
    `requirepass ${options.password}`,
    `sentinel monitor ${name} ${LOOPBACK} ${options.primaryPort} 1`,
    `sentinel auth-pass ${name} ${options.password}`,
    `sentinel down-after-milliseconds ${name} ${options.downAfterMs}`,
    `sentinel failover-timeout ${name} ${Math.max(3 * options.downAfterMs, 3000)}`,
    `sentinel parallel-syncs ${name} 1`,
    '',
  ].join('\n');
}

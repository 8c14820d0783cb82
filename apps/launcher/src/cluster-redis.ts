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
 */
export function redisCommand(options: { port: number; dir: string; password: string }): {
  args: string[];
  stdin: string;
} {
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
    ],
    stdin: `requirepass ${options.password}\n`,
  };
}

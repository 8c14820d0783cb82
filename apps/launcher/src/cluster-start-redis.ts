import path from 'node:path';
import { withRedisPassword } from '@ctos/transport';
import { setPorts } from './cluster-process-table';
import { redisCommand } from './cluster-redis';
import type { ClusterRun } from './cluster-run';
import type { ClusterProcessInfo } from './cluster-types';
import { freePort, LOOPBACK } from './cluster-util';

/**
 * The step after preparing: picks a free loopback port for the run's Redis, fixes its URLs
 * (`run.redisUrl` with the password, `run.serviceRedisUrl` without), and starts it.
 * @throws Error naming redis-server and its last lines when it does not become ready.
 */
export async function startClusterRedis(run: ClusterRun): Promise<ClusterProcessInfo> {
  run.redisPort = await freePort();
  run.serviceRedisUrl = `redis://${LOOPBACK}:${run.redisPort}`;
  run.redisUrl = withRedisPassword(run.serviceRedisUrl, run.secrets.redisPassword);
  return launchRedis(run);
}

/**
 * Starts `redis-server` on `run.redisPort` with AOF in the state folder, `appendfsync
 * everysec` as docker-compose ships it: every acknowledged write is in the kernel before
 * the reply, so a Redis process crash loses none; a host crash may lose the last second.
 * Its password reaches it on standard input (`-`: read configuration from stdin), never
 * on its command line, which every user of the machine can read. Resolves once it accepts
 * connections; also how `Cluster.restartRedis` starts it again on the same port.
 * @throws Error naming redis-server and its last lines when it exits or is not ready in time.
 */
export async function launchRedis(run: ClusterRun): Promise<ClusterProcessInfo> {
  const { args, stdin } = redisCommand({
    port: run.redisPort,
    dir: path.join(run.state.dir, 'redis'),
    password: run.secrets.redisPassword,
  });
  const redis = run.processes.launch(
    'redis',
    run.programs.redisServer,
    args,
    { PATH: run.options.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' },
    stdin,
  );
  await redis.process.waitForLine((l) => l.includes('Ready to accept connections'), 'it was ready');
  setPorts(redis, { redis: run.redisPort });
  return redis.info;
}

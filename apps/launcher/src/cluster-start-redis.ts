import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withRedisPassword } from '@ctos/transport';
import { setPorts } from './cluster-process-table';
import { redisCommand, sentinelConfig } from './cluster-redis';
import { SENTINEL_MASTER_NAME, type ClusterRun } from './cluster-run';
import type { ClusterProcessInfo } from './cluster-types';
import { freePort, LOOPBACK } from './cluster-util';

/**
 * The step after preparing: picks a free loopback port for the run's Redis, fixes its URLs
 * (`run.redisUrl` with the password, `run.serviceRedisUrl` without), and starts it. With
 * `CLUSTER_REDIS=sentinel` also a replica and a Sentinel watching both (see
 * {@link startSentinelSet}); the services then find the primary through the Sentinel.
 * @throws Error naming redis-server and its last lines when one does not become ready.
 */
export async function startClusterRedis(run: ClusterRun): Promise<ClusterProcessInfo> {
  run.redisPort = await freePort();
  run.serviceRedisUrl = `redis://${LOOPBACK}:${run.redisPort}`;
  run.redisUrl = withRedisPassword(run.serviceRedisUrl, run.secrets.redisPassword);
  const primary = await launchRedis(run);
  if (run.config.CLUSTER_REDIS === 'sentinel') await startSentinelSet(run);
  return primary;
}

/**
 * A replica of the run's primary, in sync before this resolves, and one Sentinel that
 * knows both, so that a failover has somewhere to go from the first moment: after `kill
 * -9` of the primary the Sentinel promotes the replica within `CLUSTER_SENTINEL_DOWN_AFTER_MS`
 * and a few seconds more. Sets `run.sentinelPort`.
 * @throws Error naming the process and its last lines when one does not become ready.
 */
export async function startSentinelSet(run: ClusterRun): Promise<void> {
  const replicaPort = await freePort();
  const replicaDir = path.join(run.state.dir, 'redis-replica');
  mkdirSync(replicaDir, { recursive: true, mode: 0o700 });
  const { args, stdin } = redisCommand({
    port: replicaPort,
    dir: replicaDir,
    password: run.secrets.redisPassword,
    replicaOf: run.redisPort,
  });
  const replica = run.processes.launch('redis-replica', run.programs.redisServer, args, redisEnv(run), stdin);
  await replica.process.waitForLine((l) => l.includes('MASTER <-> REPLICA sync: Finished with success'), 'it synced');
  setPorts(replica, { redis: replicaPort });

  run.sentinelPort = await freePort();
  const sentinelDir = path.join(run.state.dir, 'redis-sentinel');
  mkdirSync(sentinelDir, { recursive: true, mode: 0o700 });
  // The Sentinel rewrites its file 0644 (less the umask), passwords and all: the folder
  // keeps others out, also when a kept state folder (CLUSTER_STATE_DIR) had it already.
  chmodSync(sentinelDir, 0o700);
  const file = path.join(sentinelDir, 'sentinel.conf');
  writeFileSync(
    file,
    sentinelConfig({
      port: run.sentinelPort,
      primaryPort: run.redisPort,
      name: SENTINEL_MASTER_NAME,
      password: run.secrets.redisPassword,
      downAfterMs: run.config.CLUSTER_SENTINEL_DOWN_AFTER_MS,
      dir: sentinelDir,
    }),
    { mode: 0o600 },
  );
  const sentinel = run.processes.launch(
    'redis-sentinel',
    run.programs.redisServer,
    [file, '--sentinel'],
    redisEnv(run),
  );
  // It has found the replica (through the primary's INFO): a failover has a target.
  await sentinel.process.waitForLine(
    (l) => l.includes(`+slave slave ${LOOPBACK}:${replicaPort} `),
    'it found the replica',
  );
  setPorts(sentinel, { sentinel: run.sentinelPort });
}

/** The environment of a Redis process: only a PATH. */
function redisEnv(run: ClusterRun): Record<string, string> {
  return { PATH: run.options.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
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
  const redis = run.processes.launch('redis', run.programs.redisServer, args, redisEnv(run), stdin);
  await redis.process.waitForLine((l) => l.includes('Ready to accept connections'), 'it was ready');
  setPorts(redis, { redis: run.redisPort });
  return redis.info;
}

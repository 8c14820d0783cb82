import { clusterHandle } from './cluster-handle';
import { prepareClusterRun } from './cluster-prepare';
import { writeClusterState } from './cluster-run';
import { startServices } from './cluster-start-services';
import { startNginx, waitForNginx } from './cluster-start-nginx';
import { startClusterRedis } from './cluster-start-redis';
import { startAnthropicStandin } from './cluster-start-standin';
import { killEverythingOnExit, stopCluster } from './cluster-stop';
import type { Cluster, ClusterOptions } from './cluster-types';

export type { Cluster, ClusterOptions, ClusterProcessInfo, ClusterRole, ClusterState } from './cluster-types';

/**
 * Starts the production topology as plain processes on this machine (no Docker): a
 * `redis-server` on a free port with AOF in the state folder, the gateways, the
 * terminal-, AI and message-workers (roles whose entry point is not built are skipped
 * with a warning), the Anthropic stand-in when no key or base URL is set, and Debian's
 * nginx with the same configuration as docker-compose in front of the gateways. Writes
 * cluster.json (role, pid and port of each process) into the state folder.
 * @throws ConfigError for a bad setting; Error when a process fails to start (everything
 * started so far is stopped first).
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const run = prepareClusterRun(options);
  const lastResort = killEverythingOnExit(run);
  try {
    await startClusterRedis(run);
    await startAnthropicStandin(run);
    await startServices(run);
    const proxy = await startNginx(run);
    await waitForNginx(run, proxy);
    writeClusterState(run);
  } catch (error) {
    await stopCluster(run, lastResort, false);
    throw error;
  }
  return clusterHandle(run, lastResort);
}

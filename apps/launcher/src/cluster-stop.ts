import type { Disposable } from '@ctos/protocol';
import { runDataNodeUrls, writeClusterState, type ClusterRun } from './cluster-run';
import { removeStateDir } from './cluster-state-dir';

/**
 * Last resort if the launcher dies without stop(): when this process exits, every process
 * group the run started is killed, then what the isolation left, and the secret files go,
 * so no orphan and no secret is left behind. Dispose the result once the run has stopped.
 */
export function killEverythingOnExit(run: ClusterRun): Disposable {
  const killAllNow = (): void => {
    run.processes.killAll();
    run.isolation.killNow();
    run.secrets.remove();
  };
  process.on('exit', killAllNow);
  return { dispose: () => void process.off('exit', killAllNow) };
}

/**
 * Stops every process the run started, each role draining before the next stops: nginx,
 * the gateways, the workers (all at once), then the isolation's clean-up, the stand-in,
 * and Redis. Then `lastResort` (see {@link killEverythingOnExit}) is disposed: nothing is
 * left for it to kill.
 */
export async function stopClusterProcesses(run: ClusterRun, lastResort: Disposable): Promise<void> {
  const { processes } = run;
  processes.markStopping();
  await processes.stopRole('nginx');
  await processes.stopRole('gateway');
  await Promise.all([
    processes.stopRole('terminal-worker'),
    processes.stopRole('ai-worker'),
    processes.stopRole('message-worker'),
  ]);
  // Before Redis stops: it lists the Unix accounts this run created. A temporary state
  // folder is never used again, so its accounts and homes go even when its logs are kept.
  await run.isolation.cleanup({ urls: runDataNodeUrls(run), prefix: run.config.REDIS_PREFIX }, run.state.created);
  await processes.stopRole('anthropic-standin');
  // The Sentinel first, so that stopping the primary starts no failover.
  await processes.stopRole('redis-sentinel');
  await Promise.all([processes.stopRole('redis'), processes.stopRole('redis-replica')]);
  lastResort.dispose();
}

/**
 * The whole stop path, for a run that started (`started`) or failed to: stops every
 * process in order, removes the secret files, and removes a state folder the launcher made
 * unless `keepState`. A kept folder of a run that started gets a last cluster.json, with
 * how each process ended.
 */
export async function stopCluster(run: ClusterRun, lastResort: Disposable, started: boolean): Promise<void> {
  await stopClusterProcesses(run, lastResort);
  run.secrets.remove();
  if (!removeStateDir(run.state, run.options.keepState) && started) writeClusterState(run);
}

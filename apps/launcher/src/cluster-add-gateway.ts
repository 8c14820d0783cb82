import { writeUpstreams } from './cluster-nginx';
import { START_TIMEOUT_MS } from './cluster-process';
import { writeClusterState, type ClusterRun } from './cluster-run';
import { launchRole, waitForAnnouncedPorts } from './cluster-start-services';
import { reloadNginx } from './cluster-start-nginx';
import type { ClusterProcessInfo } from './cluster-types';
import { LOOPBACK, waitForHttp } from './cluster-util';

/**
 * One more gateway in a running cluster (see `Cluster.addGateway`): launched like the
 * others, with `extra` settings on top; put behind nginx only once its `/readyz` answers
 * 200, so nginx never sends a client to a gateway that cannot serve it yet. On failure
 * the new gateway is stopped and the upstreams file lists the running gateways again
 * (nginx keeps the configuration it runs: a rejected one was never loaded).
 * cluster.json is rewritten either way.
 * @throws Error when the cluster is stopping, or the gateway or nginx's reload fails.
 */
export async function addGateway(run: ClusterRun, extra: Record<string, string> = {}): Promise<ClusterProcessInfo> {
  if (run.processes.isStopping) throw new Error('the cluster is stopping');
  const entry = launchRole(run, 'gateway', extra);
  try {
    await waitForAnnouncedPorts(entry, 'gateway');
    await waitForHttp(
      `http://${LOOPBACK}:${entry.info.port}/readyz`,
      entry.info.name,
      START_TIMEOUT_MS,
      () => entry.process.running,
    );
    await reloadNginx(run);
  } catch (error) {
    await entry.process.stop();
    const live = run.processes.liveGateways();
    if (run.nginxPrefix && live.length > 0 && !run.processes.isStopping) writeUpstreams(run.nginxPrefix.dir, live);
    throw error;
  } finally {
    if (!run.processes.isStopping) writeClusterState(run);
  }
  return { ...entry.info };
}

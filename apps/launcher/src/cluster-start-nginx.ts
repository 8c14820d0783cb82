import path from 'node:path';
import { checkNginxConfig, nginxArgs, writeNginxPrefix, writeUpstreams } from './cluster-nginx';
import { reloadNginxMaster } from './cluster-nginx-reload';
import { START_TIMEOUT_MS } from './cluster-process';
import { setPorts, type ClusterEntry } from './cluster-process-table';
import type { ClusterRun } from './cluster-run';
import { freePort, LOOPBACK, waitForHttp } from './cluster-util';

/**
 * The step after the services (its upstreams are the gateways' real ports): picks the
 * public port if PORT is 0, writes nginx's prefix in the state folder, checks the
 * configuration with `nginx -t` and starts nginx in front of the live gateways.
 * @throws Error carrying nginx's message when it rejects its configuration.
 */
export async function startNginx(run: ClusterRun): Promise<ClusterEntry> {
  if (run.publicPort === 0) run.publicPort = await freePort();
  const prefix = writeNginxPrefix(path.join(run.state.dir, 'nginx'), {
    listen: { host: run.config.HOST, port: run.publicPort },
    gateways: run.processes.liveGateways(),
    webRoot: run.webRoot,
  });
  run.nginxPrefix = prefix;
  await checkNginxConfig(run.programs.nginx, prefix);
  return run.processes.launch('nginx', run.programs.nginx, nginxArgs(prefix), {
    PATH: run.options.env.PATH ?? '/usr/bin:/bin',
  });
}

/**
 * The last step of a start: waits until nginx answers `/healthz` (a gateway's, through it)
 * on the public port, probed on loopback when it listens on every address, then records
 * that port as nginx's.
 * @throws Error when nginx exits first or does not answer within the start timeout.
 */
export async function waitForNginx(run: ClusterRun, proxy: ClusterEntry): Promise<void> {
  const host = run.config.HOST;
  const probeHost = host === '0.0.0.0' || host === '::' ? LOOPBACK : host;
  await waitForHttp(
    `http://${probeHost.includes(':') ? `[${probeHost}]` : probeHost}:${run.publicPort}/healthz`,
    'nginx',
    START_TIMEOUT_MS,
    () => proxy.process.running,
  );
  setPorts(proxy, { http: run.publicPort });
}

/**
 * Puts the live gateways behind a running nginx: rewrites its upstreams, checks the
 * configuration, and reloads nginx gracefully (SIGHUP: new workers take new connections,
 * the old ones keep theirs until they close); resolves once the new workers accept.
 * Does nothing before nginx's prefix is written, and only rewrites the file while nginx
 * is not running.
 * @throws Error carrying nginx's message when it rejects the new configuration, or when
 * it does not reload (see {@link reloadNginxMaster}).
 */
export async function reloadNginx(run: ClusterRun): Promise<void> {
  const prefix = run.nginxPrefix;
  if (!prefix) return;
  writeUpstreams(prefix.dir, run.processes.liveGateways());
  await checkNginxConfig(run.programs.nginx, prefix);
  const nginx = run.processes.list().find((m) => m.info.role === 'nginx' && m.process.running);
  if (nginx) await reloadNginxMaster(nginx.process, prefix.errorLog, () => run.processes.isStopping);
}

import { existsSync } from 'node:fs';
import { setPorts, type ClusterEntry } from './cluster-process-table';
import { ROLE_ORDER, ROLE_SPECS, roleEnv, roleScript } from './cluster-roles';
import { serviceRedisEnv, type ClusterRun } from './cluster-run';
import type { ClusterProcessInfo, ClusterRole } from './cluster-types';

/**
 * Starts one process of `role` from its compiled entry point, with `extra` settings on top
 * of the role's own, and waits until it has announced every port it listens on.
 * @throws Error when its entry point is not built, or it exits or is silent past the start timeout.
 */
export async function startRole(
  run: ClusterRun,
  role: ClusterRole,
  extra: Record<string, string> = {},
): Promise<ClusterProcessInfo> {
  const entry = launchRole(run, role, extra);
  await waitForAnnouncedPorts(entry, role);
  return entry.info;
}

/**
 * Launches one process of `role` (see {@link startRole}) without waiting for it: the
 * caller that must stop it should its start fail holds the entry.
 * @throws Error when its entry point is not built.
 */
export function launchRole(run: ClusterRun, role: ClusterRole, extra: Record<string, string> = {}): ClusterEntry {
  const script = roleScript(role);
  if (!existsSync(script)) throw new Error(`${role} is not built (no ${ROLE_SPECS[role].script}); run: npm run build`);
  const isolationEnv = role === 'terminal-worker' ? run.isolation.workerEnv() : {};
  const env = roleEnv(role, run.baseEnv, {
    redis: serviceRedisEnv(run),
    redisPrefix: run.config.REDIS_PREFIX,
    secretFiles: run.secrets.files,
    anthropicBaseUrl: run.anthropicBaseUrl,
    isolationEnv,
    extra,
  });
  const entry = run.processes.launch(role, process.execPath, [script], env);
  if (role === 'terminal-worker') void entry.process.waitForExit().then(() => run.isolation.workerExited(isolationEnv));
  return entry;
}

/**
 * Waits until a process of `role` has announced every port it listens on, and records them.
 * @throws Error when it exits or is silent past the start timeout.
 */
export async function waitForAnnouncedPorts(entry: ClusterEntry, role: ClusterRole): Promise<void> {
  const { announces } = ROLE_SPECS[role];
  const messages = Object.keys(announces);
  const ports = await entry.process.waitForPorts(messages);
  setPorts(entry, Object.fromEntries(messages.map((m, i) => [announces[m]!, ports[i]!])));
}

/**
 * The step after the stand-in: starts the configured number of processes of every role
 * (`CLUSTER_*`), all at once, and waits until each listens. A worker role whose entry point
 * is not built is skipped with a warning and listed in `run.skipped`.
 * @throws Error when the gateway is not built, or any process fails to start.
 */
export async function startServices(run: ClusterRun): Promise<void> {
  const { config } = run;
  const wanted: Record<ClusterRole, number> = {
    'terminal-worker': config.CLUSTER_TERMINAL_WORKERS,
    'ai-worker': config.CLUSTER_AI_WORKERS,
    'message-worker': config.CLUSTER_MESSAGE_WORKERS,
    gateway: config.CLUSTER_GATEWAYS,
  };
  const starts: Array<Promise<ClusterProcessInfo>> = [];
  for (const role of ROLE_ORDER) {
    if (wanted[role] === 0) continue;
    if (!existsSync(roleScript(role))) {
      if (role === 'gateway')
        throw new Error(`the gateway is not built (no ${ROLE_SPECS[role].script}); run: npm run build`);
      run.options.logger.warn(
        { role, entry: ROLE_SPECS[role].script },
        'skipping a role whose entry point is not built',
      );
      run.skipped.push(role);
      continue;
    }
    for (let i = 0; i < wanted[role]; i++) starts.push(startRole(run, role));
  }
  await Promise.all(starts);
}

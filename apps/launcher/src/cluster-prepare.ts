import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadClusterConfig } from './cluster-config';
import { planClusterIsolation } from './cluster-isolation';
import { findNginx } from './cluster-nginx';
import { ClusterProcesses } from './cluster-process-table';
import { findRedisServer } from './cluster-redis';
import { serviceBaseEnv } from './cluster-roles';
import { writeClusterState, type ClusterRun } from './cluster-run';
import { writeRunSecrets } from './cluster-secrets';
import { createStateDir } from './cluster-state-dir';
import type { ClusterOptions } from './cluster-types';
import { REPO_ROOT } from './cluster-util';

/**
 * The first step of `startCluster`, before any process starts: reads the settings, finds
 * redis-server and nginx, makes the state folder, plans the terminal-workers' isolation,
 * and writes this run's secrets into the state folder.
 * @throws ConfigError for a bad setting; Error when redis-server or nginx is not installed
 * (then nothing was made yet).
 */
export function prepareClusterRun(options: ClusterOptions): ClusterRun {
  const { logger } = options;
  const config = loadClusterConfig(options.env);
  // Both programs before anything starts: a missing one is reported at once.
  const programs = { redisServer: findRedisServer(options.env.PATH), nginx: findNginx(options.env.PATH) };
  const state = createStateDir(config.CLUSTER_STATE_DIR);
  const isolation = planClusterIsolation({ env: options.env, stateDir: state.dir, logger });
  const webRoot = path.resolve(config.WEB_DIST_DIR ?? path.join(REPO_ROOT, 'web', 'dist'));
  if (!existsSync(path.join(webRoot, 'index.html'))) {
    logger.warn({ webRoot }, 'the web page is not built (run: npm run build); nginx will answer 404 for it');
  }
  const secrets = writeRunSecrets(state.dir, config);
  const run: ClusterRun = {
    options,
    config,
    programs,
    state,
    isolation,
    secrets,
    webRoot,
    startedAt: new Date().toISOString(),
    baseEnv: serviceBaseEnv(options.env, config.LOG_LEVEL),
    processes: new ClusterProcesses({
      logDir: path.join(state.dir, 'logs'),
      logger,
      onProcessLine: options.onProcessLine,
      onUnexpectedExit: () => writeClusterState(run),
    }),
    redisPort: 0,
    redisUrl: '',
    serviceRedisUrl: '',
    sentinelPort: 0,
    anthropicBaseUrl: config.ANTHROPIC_BASE_URL,
    publicPort: config.PORT,
    nginxPrefix: undefined,
    skipped: [],
  };
  return run;
}

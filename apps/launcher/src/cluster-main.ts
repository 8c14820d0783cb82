import { ConfigError, createLogger, exitOnSignal, guardProcess } from '@ctos/runtime';
import { addGatewayOnSignal } from './cluster-add-gateway-signal';
import { clusterProcessEnv, loadClusterConfig } from './cluster-config';
import { startCluster } from './cluster';

/** pino's numeric level of `warn`: lines at or above it are shown on the launcher's console. */
const WARN_LEVEL = 40;

/** How long the whole cluster may take to stop after Ctrl-C (ms): each process drains, then is killed. */
const CLUSTER_STOP_TIMEOUT_MS = 60_000;

/**
 * `npm run cluster`: the docker-compose topology as processes on this machine (Redis,
 * gateways, workers, nginx), printing the URL, a token, and where cluster.json is.
 */
async function main(): Promise<void> {
  const env = clusterProcessEnv();
  let level: string;
  try {
    level = loadClusterConfig(env).LOG_LEVEL;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ service: 'cluster', level });
  guardProcess(logger);
  const starting = startCluster({
    env,
    logger,
    keepState: true,
    onProcessLine: (info, line) => {
      // Services log JSON; show their warnings and errors, and anything that is not JSON (a crash).
      let levelOfLine = WARN_LEVEL;
      try {
        const parsed = JSON.parse(line) as { level?: unknown };
        // JSON without a level is an announcement (the stand-in's `{"url":…}`), not a log.
        levelOfLine = typeof parsed.level === 'number' ? parsed.level : 0;
      } catch {
        // A plain-text line (a stack trace, nginx's stderr): show it.
      }
      // redis-server's notices are plain text and mostly noise here; its log file has them,
      // and the launcher itself reports if it exits.
      if (info.role === 'redis' || info.role === 'redis-replica' || info.role === 'redis-sentinel') return;
      if (levelOfLine >= WARN_LEVEL) process.stderr.write(`[${info.name}] ${line}\n`);
    },
  });
  // From the start on: an operator's `kill -USR2` must never end the launcher.
  addGatewayOnSignal(starting);
  const cluster = await starting.catch((error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  });
  const config = loadClusterConfig(env);
  const token = await cluster.signToken(config.CLUSTER_USER);
  const messageWorker = cluster.processes().find((p) => p.role === 'message-worker');
  const lines = [
    '',
    '  ctos-realtime is running (process cluster: Redis, gateways, workers, nginx).',
    '',
    `    URL:        ${cluster.url}`,
    `    processes:  ${cluster.stateFile}`,
    `    logs:       ${cluster.stateDir}/logs/`,
    `    +1 gateway: kill -USR2 ${process.pid}`,
    ...(cluster.skipped.length > 0 ? [`    not built:  ${cluster.skipped.join(', ')} (run: npm run build)`] : []),
    '',
    `  Sign in as "${config.CLUSTER_USER}": open the URL, then paste this in the browser console`,
    '  (in production the host application gives the page its token):',
    '',
    `    localStorage.setItem('ctos.token', '${token}'); location.reload();`,
    '',
    ...(config.AUTH_JWT_SECRET
      ? []
      : ['  AUTH_JWT_SECRET was generated for this run; set it to keep tokens valid across restarts.', '']),
    ...(messageWorker?.ports.api
      ? [
          `  Producer API (POST /messages): http://127.0.0.1:${messageWorker.ports.api}/messages`,
          `    Authorization: Bearer ${cluster.messageApiTokens[0]}`,
          '',
        ]
      : []),
    '  Ctrl-C stops everything the launcher started.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  exitOnSignal(() => cluster.stop(), logger, CLUSTER_STOP_TIMEOUT_MS);
}

void main();

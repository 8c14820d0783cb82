import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { startCluster, type Cluster, type ClusterProcessInfo } from '@ctos/launcher';
import { createLogger } from '@ctos/runtime';
import { profilingEnv } from './figure-profiles';
import type { OwnedProcess, OwnedProcesses } from './owned-processes';
import { BENCH_SHELL, BENCH_SHELL_ARGS } from './shell-commands';

/** How long embedded mode may take to start (ms): a cold Node start on a busy 2-core box. */
const START_TIMEOUT_MS = 30_000;

/** The launcher's compiled entry points (the repository's own, as `npm start` runs them). */
const LAUNCHER_DIST = path.join(path.dirname(require.resolve('@ctos/launcher/package.json')), 'dist');

/** Settings every system under test gets: the benchmark's shell, logs that announce ports, and profiling when on. */
function serviceSettings(cpuProfileDir: string | undefined): Record<string, string> {
  return {
    TERMINAL_SHELL: BENCH_SHELL,
    TERMINAL_SHELL_ARGS: BENCH_SHELL_ARGS.join(' '),
    LOG_LEVEL: 'info',
    ...profilingEnv(cpuProfileDir),
  };
}

/** Embedded mode (`npm start`) running in its own process. */
export interface EmbeddedSystem {
  /** The gateway's `http://127.0.0.1:PORT`. */
  url: string;
  jwtSecret: string;
  process: OwnedProcess;
}

/**
 * Starts embedded mode from its real entry point (apps/launcher/dist/embedded-main.js)
 * in a process of its own, so the benchmark's client never shares its event loop.
 * @throws Error when it does not print its login URL in time.
 */
export async function startEmbeddedSystem(
  owned: OwnedProcesses,
  baseEnv: Record<string, string>,
  cpuProfileDir: string | undefined,
): Promise<EmbeddedSystem> {
  const jwtSecret = randomBytes(32).toString('hex');
  const child = owned.fork('embedded', path.join(LAUNCHER_DIST, 'embedded-main.js'), {
    ...baseEnv,
    ...serviceSettings(cpuProfileDir),
    HOST: '127.0.0.1',
    PORT: '0',
    AUTH_JWT_SECRET: jwtSecret,
    MESSAGE_API_TOKENS: randomBytes(32).toString('hex'),
  });
  const line = await child.waitForLine((l) => /https?:\/\/[^\s/]+\/\?login=/.test(l), START_TIMEOUT_MS);
  const url = /(https?:\/\/[^\s/]+)\/\?login=/.exec(line)![1]!;
  return { url, jwtSecret, process: child };
}

/** The process cluster (`npm run cluster`) as the benchmark runs it. */
export interface ClusterSystem {
  cluster: Cluster;
  /** nginx's URL: the door clients use. */
  url: string;
  gateways: ClusterProcessInfo[];
  terminalWorker: ClusterProcessInfo;
  messageApi: { url: string; token: string };
}

/**
 * Starts the production topology with the launcher: Redis, nginx, two gateways, ONE
 * terminal-worker (so the sessions figure measures one worker with every session on
 * it), one ai-worker pointed at `anthropicBaseUrl`, and one message-worker.
 * @throws Error when a process fails to start (the launcher stops the rest).
 */
export async function startClusterSystem(
  baseEnv: Record<string, string>,
  anthropicBaseUrl: string | undefined,
  cpuProfileDir: string | undefined,
): Promise<ClusterSystem> {
  const cluster = await startCluster({
    env: {
      ...baseEnv,
      ...serviceSettings(cpuProfileDir),
      PORT: '0',
      REDIS_PREFIX: 'bench',
      CLUSTER_GATEWAYS: '2',
      CLUSTER_TERMINAL_WORKERS: '1',
      CLUSTER_AI_WORKERS: '1',
      CLUSTER_MESSAGE_WORKERS: '1',
      ...(anthropicBaseUrl ? { ANTHROPIC_BASE_URL: anthropicBaseUrl, ANTHROPIC_API_KEY: 'bench-standin-key' } : {}),
    },
    // The launcher's own warnings (e.g. the web page is not built) are not figures.
    logger: createLogger({ service: 'bench-cluster', level: 'error' }),
  });
  const processes = cluster.processes();
  const gateways = processes.filter((p) => p.role === 'gateway');
  const terminalWorker = processes.find((p) => p.role === 'terminal-worker');
  const messageWorker = processes.find((p) => p.role === 'message-worker');
  if (gateways.length < 2 || !terminalWorker || !messageWorker?.ports.api) {
    await cluster.stop();
    throw new Error('the cluster started without two gateways, a terminal-worker and a message-worker');
  }
  return {
    cluster,
    url: cluster.url,
    gateways,
    terminalWorker,
    messageApi: { url: `http://127.0.0.1:${messageWorker.ports.api}`, token: cluster.messageApiTokens[0]! },
  };
}

import { withRedisPassword, type RedisTarget } from '@ctos/transport';
import type { ClusterConfig } from './cluster-config';
import type { ClusterIsolation } from './cluster-isolation';
import type { NginxPrefix } from './cluster-nginx';
import type { ClusterProcesses } from './cluster-process-table';
import type { RunSecrets } from './cluster-secrets';
import type { StateDir } from './cluster-state-dir';
import type { ClusterOptions, ClusterRole, ClusterState } from './cluster-types';
import { LOOPBACK, writeJsonAtomically } from './cluster-util';

/** The programs a run starts besides Node, found before anything starts. */
export interface ClusterPrograms {
  /** Absolute path of `redis-server`. */
  redisServer: string;
  /** Absolute path of `nginx`. */
  nginx: string;
}

/**
 * One run of the process cluster: what every step of `startCluster` reads, and what the
 * steps so far have filled in. cluster.json is written from it at any moment, so a value
 * not known yet has its empty value (`''`, 0, undefined).
 */
export interface ClusterRun {
  /** What `startCluster` was given: the environment, the logger, the line callback, `keepState`. */
  readonly options: ClusterOptions;
  /** The launcher's own settings, parsed from `options.env`. */
  readonly config: ClusterConfig;
  readonly programs: ClusterPrograms;
  /** The state folder and cluster.json in it. */
  readonly state: StateDir;
  /** How the terminal-workers' shells are isolated, and what to kill and remove at the end. */
  readonly isolation: ClusterIsolation;
  /** The run's secrets and the files that carry them to the services. */
  readonly secrets: RunSecrets;
  /** The built web page nginx serves (absolute; it may be missing: nginx then answers 404). */
  readonly webRoot: string;
  /** What every service gets of the launcher's environment (see `serviceBaseEnv`). */
  readonly baseEnv: Record<string, string>;
  /** Every process started so far, in start order. */
  readonly processes: ClusterProcesses;
  /** When the run began (ISO 8601). */
  readonly startedAt: string;
  /** Redis's port on loopback; 0 until one is chosen. */
  redisPort: number;
  /** With the password: for tests and cluster.json (0600), never for a process's environment. */
  redisUrl: string;
  /** Without it: what the services get, with the password in `REDIS_PASSWORD_FILE`. */
  serviceRedisUrl: string;
  /** The Sentinel's port on loopback with `CLUSTER_REDIS=sentinel`; 0 otherwise. */
  sentinelPort: number;
  /** What the AI workers get as `ANTHROPIC_BASE_URL`: the configured one, or the stand-in's once it runs. */
  anthropicBaseUrl: string | undefined;
  /** nginx's port: the configured one, or a free one chosen just before nginx starts (PORT=0). */
  publicPort: number;
  /** nginx's prefix folder, once written. */
  nginxPrefix: NginxPrefix | undefined;
  /** Roles not started because their entry point is not built. */
  readonly skipped: ClusterRole[];
}

/** `http://HOST:PORT` of nginx, with an IPv6 host in brackets. */
export function clusterUrl(run: ClusterRun): string {
  const host = run.config.HOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${run.publicPort}`;
}

/** Writes cluster.json (0600, atomically) as the run is now. */
export function writeClusterState(run: ClusterRun): void {
  const state: ClusterState = {
    url: clusterUrl(run),
    launcher_pid: process.pid,
    state_dir: run.state.dir,
    redis_url: run.redisUrl,
    redis_prefix: run.config.REDIS_PREFIX,
    started_at: run.startedAt,
    processes: run.processes.list().map((m) => m.info),
  };
  writeJsonAtomically(run.state.file, state);
}

/** The master group name the run's Sentinel watches (`CLUSTER_REDIS=sentinel`). */
export const SENTINEL_MASTER_NAME = 'ctos';

/** Where the run's Redis is, with its password: the primary's URL, or the Sentinel and its group. */
export function runRedisTarget(run: ClusterRun): RedisTarget {
  if (run.sentinelPort === 0) return { url: run.redisUrl };
  return {
    sentinels: [{ host: LOOPBACK, port: run.sentinelPort }],
    name: SENTINEL_MASTER_NAME,
    password: run.secrets.redisPassword,
    sentinelPassword: run.secrets.redisPassword,
  };
}

/**
 * How the services reach the run's Redis, as settings (the password goes in
 * `REDIS_PASSWORD_FILE`): `REDIS_URL`, or `REDIS_SENTINELS` and `REDIS_SENTINEL_NAME`.
 */
export function serviceRedisEnv(run: ClusterRun): Record<string, string> {
  if (run.sentinelPort === 0) return { REDIS_URL: run.serviceRedisUrl };
  return {
    REDIS_SENTINELS: `${LOOPBACK}:${run.sentinelPort}`,
    REDIS_SENTINEL_NAME: SENTINEL_MASTER_NAME,
    REDIS_SENTINEL_AUTH: 'true',
  };
}

/**
 * URLs of the run's Redis data nodes that have started, with the password: the primary
 * first, then the replica (`CLUSTER_REDIS=sentinel`), which holds the same data. For the
 * launcher's own reads at the end of a run, which must not depend on the Sentinel.
 */
export function runDataNodeUrls(run: ClusterRun): string[] {
  return run.processes
    .list()
    .filter(({ info }) => (info.role === 'redis' || info.role === 'redis-replica') && info.ports.redis)
    .map(({ info }) => withRedisPassword(`redis://${LOOPBACK}:${info.ports.redis}`, run.secrets.redisPassword));
}

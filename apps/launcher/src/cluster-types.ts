import type { RedisTarget } from '@ctos/transport';
import type { Logger } from '@ctos/runtime';
import type { ProcessExit } from './cluster-process';

/** The services the launcher runs from their compiled entry points. */
export type ClusterRole = 'gateway' | 'terminal-worker' | 'ai-worker' | 'message-worker';

/** Options of `startCluster`. */
export interface ClusterOptions {
  /**
   * The environment: the launcher's settings (see `clusterSettings`) and every service
   * setting, passed on to the processes. Tests pass a minimal one.
   */
  env: Record<string, string | undefined>;
  logger: Logger;
  /** Called with every line a process prints (the launcher's console shows warnings from here). */
  onProcessLine?: (process: ClusterProcessInfo, line: string) => void;
  /** Keep a state folder the launcher created after `stop()` (logs, Redis's AOF). Default: remove it. */
  keepState?: boolean;
}

/** One process as listed in cluster.json. */
export interface ClusterProcessInfo {
  /** Unique in the cluster: `gateway-1`, `terminal-worker-3`, `redis`, `nginx`… */
  name: string;
  role: ClusterRole | 'redis' | 'redis-replica' | 'redis-sentinel' | 'nginx' | 'anthropic-standin';
  pid: number;
  /** Its main port: a gateway's Socket.IO port, a worker's ops port, nginx's public port. */
  port: number;
  /**
   * Every port it listens on, by purpose: `http` (gateway, nginx, stand-in), `ops`
   * (/healthz, /readyz, /metrics of a worker), `api` (the message-worker's producer API), `redis`.
   */
  ports: Record<string, number>;
  /** Its stdout and stderr. */
  log: string;
  started_at: string;
  /** Set once it has exited. */
  exit?: ProcessExit;
}

/** The content of cluster.json. */
export interface ClusterState {
  url: string;
  launcher_pid: number;
  state_dir: string;
  redis_url: string;
  redis_prefix: string;
  started_at: string;
  processes: ClusterProcessInfo[];
}

/** A running process cluster. */
export interface Cluster {
  /** `http://HOST:PORT`, nginx. */
  readonly url: string;
  readonly port: number;
  readonly stateDir: string;
  /** cluster.json: every process with role, pid and port. */
  readonly stateFile: string;
  /** The first primary's URL, with the password. With `CLUSTER_REDIS=sentinel`, see {@link redisTarget}. */
  readonly redisUrl: string;
  /**
   * Where the run's Redis is, with the password: the URL, or with `CLUSTER_REDIS=sentinel`
   * the Sentinel and its master group, which name the primary of the moment (after a
   * failover too). For `connectRedis`.
   */
  readonly redisTarget: RedisTarget;
  readonly redisPrefix: string;
  /** The HS256 secret the gateways verify tokens with. */
  readonly jwtSecret: string;
  /** The password of its Redis, generated for this run (`redisUrl` carries it too). */
  readonly redisPassword: string;
  /** Bearer tokens the message-worker's producer API accepts. */
  readonly messageApiTokens: string[];
  /** `ANTHROPIC_BASE_URL` given to the AI workers (the stand-in's unless one was configured). */
  readonly anthropicBaseUrl: string | undefined;
  /** Roles not started because their entry point is not built. */
  readonly skipped: readonly ClusterRole[];
  /** Every process started so far, exited ones included. */
  processes(): ClusterProcessInfo[];
  /** A token for `user`, as a host application would issue it. */
  signToken(user: string, ttlSeconds?: number): Promise<string>;
  /**
   * Starts one more process of `role` while the cluster runs and waits until it listens.
   * A new gateway is added to nginx's upstreams (nginx reloads).
   * @throws Error when its entry point is missing or it fails to start.
   */
  addProcess(role: ClusterRole, env?: Record<string, string>): Promise<ClusterProcessInfo>;
  /**
   * Adds one gateway while the cluster runs: starts it like the others (same environment,
   * a port of its own, stopped by the kernel when the launcher is gone), waits until it
   * answers `/readyz`, writes it into nginx's upstreams and reloads nginx gracefully.
   * Resolves once every nginx worker that accepts connections has the new list, so the
   * next connections are spread over it too; connections already open stay where they are
   * (nginx's old workers keep them until they close). Adds run one at a time, in call
   * order. It is listed by `processes()` and cluster.json, and `stop()` stops it.
   * @throws Error when the cluster is stopping, the gateway fails to start or get ready,
   * or nginx rejects the new configuration or does not reload within its timeout; the new
   * gateway is then stopped and the upstreams file lists the running gateways again.
   */
  addGateway(): Promise<ClusterProcessInfo>;
  /**
   * Sends `signal` to the running process called `name` (`redis`, `gateway-2`…): fault
   * injection (SIGKILL, SIGSTOP, SIGCONT). Resolves once it has exited when the signal
   * was SIGKILL, at once otherwise.
   * @throws Error when no running process has that name.
   */
  signal(name: string, signal: NodeJS.Signals): Promise<void>;
  /**
   * Starts Redis again on the same port with the same AOF folder, after it exited (was
   * killed); resolves when it accepts connections. Clients reconnect by themselves.
   * @throws Error while the previous Redis is still running, or when it fails to start.
   */
  restartRedis(): Promise<ClusterProcessInfo>;
  /** Stops everything it started, in order: nginx, gateways, workers, the stand-in, Redis. */
  stop(): Promise<void>;
}

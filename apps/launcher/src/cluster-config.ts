import { z } from 'zod';
import { parseConfig, setting } from '@ctos/runtime';

/**
 * Settings the process-cluster launcher (`npm run cluster`) reads. Every other variable in
 * its environment is passed on to the services, so their settings (TERMINAL_*, SOCKET_*…)
 * apply as in docker-compose; the launcher overrides only addresses, ports and Redis.
 */
export const clusterSettings = {
  /** nginx's port: where the page and Socket.IO are served (the seed's 8089; 0: any free port). */
  PORT: setting.port(8089),
  /** nginx's bind address; loopback by default, like embedded mode. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** HS256 secret of user tokens (at least 32 characters); generated for this run when unset. */
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** If set, tokens the launcher prints carry this `iss` (the gateways require it). */
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  /** If set, tokens the launcher prints carry this `aud` (the gateways require it). */
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  /** Anthropic API key; without it (and without ANTHROPIC_BASE_URL) the local stand-in answers. */
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  /** Anthropic-compatible endpoint; when set, no stand-in is started. */
  ANTHROPIC_BASE_URL: z.string().url().optional(),
  /** Producer API tokens of the message-worker (comma-separated); one is generated when unset. */
  MESSAGE_API_TOKENS: z.string().min(1).optional(),
  /** Prefix of every Redis key of this run. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .default('ctos'),
  /**
   * The run's Redis: `single`, one redis-server; `sentinel`, a primary, a replica and a
   * Sentinel watching them, the services finding the primary through `REDIS_SENTINELS`
   * (a failover, e.g. after `kill -9` of the primary, is followed by every process).
   */
  CLUSTER_REDIS: z.enum(['single', 'sentinel']).default('single'),
  /** With `CLUSTER_REDIS=sentinel`: how long the primary must not answer before the Sentinel fails over (ms). */
  CLUSTER_SENTINEL_DOWN_AFTER_MS: setting.int(1000, 100, 60_000),
  /** Where the launcher keeps Redis's AOF, nginx's prefix, logs and cluster.json; default a new temporary folder. */
  CLUSTER_STATE_DIR: z.string().min(1).optional(),
  /** Gateways to start. */
  CLUSTER_GATEWAYS: setting.int(2, 1, 64),
  /** Terminal-workers to start. */
  CLUSTER_TERMINAL_WORKERS: setting.int(2, 0, 64),
  /** AI workers to start. */
  CLUSTER_AI_WORKERS: setting.int(1, 0, 64),
  /** Message-workers to start. */
  CLUSTER_MESSAGE_WORKERS: setting.int(1, 0, 64),
  /** The user the printed token signs in as (its `sub`). */
  CLUSTER_USER: z.string().min(1).max(128).default('local'),
  /** Lifetime of the printed token (seconds). */
  CLUSTER_TOKEN_TTL_S: setting.int(12 * 60 * 60, 60),
  /** Folder of the built web page nginx serves; default the repository's web/dist. */
  WEB_DIST_DIR: z.string().min(1).optional(),
  /** The launcher's own log level. */
  LOG_LEVEL: setting.logLevel(),
};

/** The launcher's parsed settings. */
export type ClusterConfig = z.output<z.ZodObject<typeof clusterSettings>>;

/**
 * Parses the launcher's settings from `env`.
 * @throws ConfigError listing every bad value.
 */
export function loadClusterConfig(env: Record<string, string | undefined>): ClusterConfig {
  return parseConfig(z.object(clusterSettings), env);
}

/** The launcher's whole environment, read once; passed on to the processes it starts. */
export function clusterProcessEnv(): Record<string, string | undefined> {
  return process.env;
}

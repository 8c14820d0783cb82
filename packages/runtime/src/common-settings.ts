import { z } from 'zod';
import { setting } from './config';

/**
 * Settings every process reads, as zod shape entries keyed by environment variable (each
 * may be given as `X_FILE` too, see `parseConfig`). Neither `REDIS_URL` nor `REDIS_SENTINELS`
 * set means embedded mode (only the embedded launcher accepts that).
 */
export const commonSettings = {
  /** pino level. */
  LOG_LEVEL: setting.logLevel(),
  /** Redis for the bus, registry, adapter and stores (or {@link REDIS_SENTINELS}). */
  REDIS_URL: setting.redisUrl().optional(),
  /**
   * Redis through Sentinel, in place of `REDIS_URL` (used instead of it when both are set):
   * the Sentinels, `host:port` comma-separated. Every connection asks them for the primary of `REDIS_SENTINEL_NAME`
   * when it (re)connects, so processes follow a failover by themselves.
   */
  REDIS_SENTINELS: setting.sentinels().optional(),
  /** The master group the Sentinels monitor (`sentinel monitor <name> …`); required with `REDIS_SENTINELS`. */
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
  /**
   * The Sentinels require a password too (their `requirepass`), the data nodes' one
   * (`REDIS_PASSWORD`), as common Sentinel set-ups (e.g. Bitnami's chart) configure them.
   */
  REDIS_SENTINEL_AUTH: setting.bool(false),
  /**
   * Password of Redis; when set it is used in place of any password in `REDIS_URL`, so the
   * URL can be written down and the password kept in a file (`REDIS_PASSWORD_FILE`).
   */
  REDIS_PASSWORD: z.string().min(1).optional(),
  /** Prefix of every Redis key and channel of this deployment. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .default('ctos'),
  /** Heartbeat period of every instance (ms). */
  HEARTBEAT_INTERVAL_MS: setting.int(1000, 50, 60_000),
  /** Beats an instance may miss before it is declared dead. */
  HEARTBEAT_MISSED_BEATS: setting.int(3, 2, 100),
  /** Address the process's HTTP server binds (default loopback). */
  HOST: z.string().min(1).default('127.0.0.1'),
};

/** The parsed form of {@link commonSettings}. */
export type CommonConfig = z.output<z.ZodObject<typeof commonSettings>>;

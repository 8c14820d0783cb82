import { z } from 'zod';
import { commonSettings, parseConfig, setting } from '@ctos/runtime';

/** A service token shorter than this is guessable; the same floor as AUTH_JWT_SECRET. */
const MIN_TOKEN_CHARS = 32;

/** Environment variables of the message-worker, with their defaults. */
export const messageWorkerSettings = {
  ...commonSettings,
  /** Port of /healthz, /readyz and /metrics (0: any free port). */
  OPS_PORT: setting.port(9103),
  /** Port of the producer HTTP API (`POST /messages`) that other backend services call (0: any). */
  MESSAGE_API_PORT: setting.port(8091),
  /**
   * Bearer tokens the producer API accepts, comma-separated (two during a rotation), each
   * at least 32 characters. Required in distributed mode; embedded mode may generate one.
   */
  MESSAGE_API_TOKENS: setting
    .list([])
    .pipe(z.array(z.string().min(MIN_TOKEN_CHARS, `each token must be at least ${MIN_TOKEN_CHARS} characters`))),
  /** Largest producer request body (bytes); bigger gets 413. */
  MESSAGE_API_MAX_BODY_BYTES: setting.int(512 * 1024, 1024, 16 * 1024 * 1024),
  /** Sustained `POST /messages` per second one producer (one token) may send to one worker; more gets 429. */
  MESSAGE_API_REQUESTS_PER_SECOND: setting.int(100, 1, 1_000_000),
  /** Requests one producer may send at once before that rate applies. */
  MESSAGE_API_BURST: setting.int(200, 1, 1_000_000),
  /** Recipients one `POST /messages` may name. */
  MESSAGE_MAX_RECIPIENTS: setting.int(1000, 1, 100_000),
  /** Messages kept per user; older ones are dropped as new ones arrive. */
  MESSAGE_RETENTION_COUNT: setting.int(1000, 1, 1_000_000),
  /** Age after which a message is dropped (ms); default 30 days. */
  MESSAGE_RETENTION_MS: setting.int(30 * 24 * 60 * 60 * 1000, 1000),
  /** How long a producer's idempotency key is remembered (ms); default 24 h, as Stripe keeps them. */
  MESSAGE_IDEMPOTENCY_TTL_MS: setting.int(24 * 60 * 60 * 1000, 1000),
  /** `message:sync` page size when the client gives none. */
  MESSAGE_SYNC_PAGE: setting.int(100, 1, 500),
  /** `message:list` page size when the client gives none. */
  MESSAGE_LIST_PAGE: setting.int(50, 1, 500),
  /** Requests (bus and HTTP) this worker runs at once before placement skips it. */
  MESSAGE_WORKER_CAPACITY: setting.int(1000, 1, 1_000_000),
};

/** The message-worker's parsed configuration. */
export type MessageWorkerConfig = z.output<z.ZodObject<typeof messageWorkerSettings>>;

/**
 * Parses the message-worker's settings from `env` (default: this process's).
 * @throws ConfigError listing every bad value.
 */
export function loadMessageWorkerConfig(env: Record<string, string | undefined> = process.env): MessageWorkerConfig {
  return parseConfig(z.object(messageWorkerSettings), env);
}

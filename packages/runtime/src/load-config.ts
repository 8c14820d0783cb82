import { ConfigError } from './config';

/**
 * Parses a process's configuration and checks what its distributed mode requires; on any
 * problem prints every one of them to stderr and exits with status 2 (the README's
 * contract for a bad setting). `required` returns the problems, e.g.
 * `['REDIS_URL: required (…)']`.
 */
export function loadConfigOrExit<C>(load: () => C, required: (config: C) => string[]): C {
  try {
    const config = load();
    const missing = required(config);
    if (missing.length > 0) throw new ConfigError(missing);
    return config;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
}

/** The Redis settings of {@link requireRedis} and {@link isDistributed}. */
export interface RedisChoice {
  REDIS_URL?: string | undefined;
  REDIS_SENTINELS?: ReadonlyArray<{ host: string; port: number }> | undefined;
  REDIS_SENTINEL_NAME?: string | undefined;
  REDIS_SENTINEL_AUTH?: boolean | undefined;
  REDIS_PASSWORD?: string | undefined;
}

/** True when the settings name a Redis (by URL or through Sentinel): distributed mode. */
export function isDistributed(config: RedisChoice): boolean {
  return Boolean(config.REDIS_URL || config.REDIS_SENTINELS);
}

/**
 * The problem lines for a process that needs Redis: `REDIS_URL`, or `REDIS_SENTINELS`
 * with `REDIS_SENTINEL_NAME` (which, when set, take the place of `REDIS_URL`: compose
 * always sets the URL of its own Redis).
 */
export function requireRedis(config: RedisChoice, service: string): string[] {
  if (config.REDIS_SENTINEL_AUTH && !config.REDIS_SENTINELS) {
    return ['REDIS_SENTINEL_AUTH: only with REDIS_SENTINELS'];
  }
  if (config.REDIS_SENTINELS) {
    return [
      ...(config.REDIS_SENTINEL_NAME ? [] : ['REDIS_SENTINEL_NAME: required with REDIS_SENTINELS']),
      ...(config.REDIS_SENTINEL_AUTH && !config.REDIS_PASSWORD
        ? ['REDIS_SENTINEL_AUTH: needs REDIS_PASSWORD (or REDIS_PASSWORD_FILE), the password it sends the Sentinels']
        : []),
    ];
  }
  return config.REDIS_URL
    ? []
    : [`REDIS_URL: required (the ${service} runs in distributed mode), or REDIS_SENTINELS with REDIS_SENTINEL_NAME`];
}

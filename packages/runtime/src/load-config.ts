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

/** The problem line for a process that needs `REDIS_URL`. */
export function requireRedisUrl(config: { REDIS_URL?: string | undefined }, service: string): string[] {
  return config.REDIS_URL ? [] : [`REDIS_URL: required (the ${service} runs in distributed mode)`];
}

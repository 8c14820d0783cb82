import { z } from 'zod';

/**
 * Raised by {@link parseConfig} with every bad setting at once, so an operator fixes
 * them in one go instead of one per restart.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses environment variables against a zod object whose keys are the variable names.
 * Empty strings count as unset. Throws {@link ConfigError} listing every problem.
 */
export function parseConfig<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(root)';
    const given = cleaned[String(issue.path[0])];
    return `${name}: ${issue.message}${given === undefined ? '' : ` (got ${JSON.stringify(given)})`}`;
  });
  throw new ConfigError(problems);
}

/** Setting builders shared by every service, so the same kind of value reads the same. */
export const setting = {
  /** A whole number in [min, max], e.g. milliseconds or bytes. */
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce.number().int().min(min).max(max).default(fallback),
  /** A TCP port; 0 lets the system choose. */
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  /** `true/false/1/0/yes/no`. */
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .transform((v) => v === 'true' || v === '1' || v === 'yes')
      .default(fallback),
  /** A comma-separated list. */
  list: (fallback: string[]) =>
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .default(fallback),
  /** A `redis://` or `rediss://` URL. */
  redisUrl: () => z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://'),
  /** pino log level. */
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
} as const;

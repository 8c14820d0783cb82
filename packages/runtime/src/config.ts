import { readFileSync } from 'node:fs';
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

/** Suffix of a variable that names a file holding a setting's value (Docker's `_FILE` convention). */
export const FILE_SUFFIX = '_FILE';

/**
 * Names of settings whose value is never echoed in a problem line: it is, or may carry, a
 * credential (`AUTH_JWT_SECRET`, `REDIS_PASSWORD`, `MESSAGE_API_TOKENS`, `ANTHROPIC_API_KEY`).
 */
const SECRET_NAME = /SECRET|PASSWORD|API_TOKEN|API_KEY/;

/** A value read from a setting's file, or the problem line saying why it could not be. */
type FileRead = { value: string } | { problem: string };

/**
 * Reads the value of setting `key` from `file`: its whole content less one trailing line
 * break (`echo secret > file` writes one). The problem line names the variable, the path and
 * the system's reason (`ENOENT`, `EACCES`, `EISDIR`), never what the file holds.
 */
function readSettingFile(key: string, file: string): FileRead {
  try {
    return { value: readFileSync(file, 'utf8').replace(/\r?\n$/, '') };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return { problem: `${key}${FILE_SUFFIX}: cannot read ${file} (${reason})` };
  }
}

/**
 * How a bad value is shown in its problem line: not at all when it came from a file or its
 * name says it is a secret, and a URL's password masked (`REDIS_URL` may carry one).
 */
function shownValue(key: string, value: string | undefined, fromFile: boolean): string {
  if (value === undefined) return '';
  if (fromFile) return ` (read from ${key}${FILE_SUFFIX})`;
  if (SECRET_NAME.test(key)) return '';
  return ` (got ${JSON.stringify(value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^@/]*@/i, '$1***@'))})`;
}

/**
 * Parses environment variables against a zod object whose keys are the variable names.
 * Any setting `X` may instead be given as `X_FILE`, the path of a file holding the value,
 * so that secrets need not sit in an environment (Docker's and Compose's `secrets:`
 * convention); giving both is a problem. Empty strings, in a variable or a file, count as
 * unset. Throws {@link ConfigError} listing every problem; a secret's value is never in it.
 */
export function parseConfig<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const cleaned: Record<string, string> = {};
  const fromFile = new Set<string>();
  const problems: string[] = [];
  /** Settings already reported for their file: the schema's complaint about them would only confuse. */
  const reported = new Set<string>();
  for (const key of Object.keys(schema.shape)) {
    const value = nonEmpty(env[key]);
    const file = nonEmpty(env[`${key}${FILE_SUFFIX}`]);
    if (file === undefined) {
      if (value !== undefined) cleaned[key] = value;
      continue;
    }
    if (value !== undefined) {
      problems.push(`${key} and ${key}${FILE_SUFFIX} are both set: give one of them`);
      reported.add(key);
      continue;
    }
    const read = readSettingFile(key, file);
    if ('problem' in read) {
      problems.push(read.problem);
      reported.add(key);
    } else if (read.value !== '') {
      cleaned[key] = read.value;
      fromFile.add(key);
    }
  }
  const result = schema.safeParse(cleaned);
  if (result.success && problems.length === 0) return result.data;
  for (const issue of result.error?.issues ?? []) {
    const key = String(issue.path[0]);
    if (reported.has(key)) continue;
    const name = issue.path.join('.') || '(root)';
    problems.push(`${name}: ${issue.message}${shownValue(key, cleaned[key], fromFile.has(key))}`);
  }
  throw new ConfigError(problems);
}

/** Empty counts as unset: compose passes `X: ${X:-}` for every setting the operator left out. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** The entries of a comma-separated value, trimmed, empty ones dropped. */
function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
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
  list: (fallback: string[]) => z.string().transform(commaList).default(fallback),
  /** A `redis://` or `rediss://` URL. */
  redisUrl: () => z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://'),
  /**
   * Sentinel addresses, `host:port` comma-separated (`sentinel-1:26379,sentinel-2:26379`),
   * parsed to `[{host, port}]`.
   */
  sentinels: () =>
    z.string().transform((value, ctx) => {
      const addresses = commaList(value);
      const problem = (message: string): never => {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      };
      if (addresses.length === 0) return problem('at least one host:port');
      return addresses.map((address) => {
        const match = /^([^\s:,]+):(\d{1,5})$/.exec(address);
        if (!match) return problem(`each address must be host:port, not ${JSON.stringify(address)}`);
        const port = Number(match[2]);
        if (port < 1 || port > 65535) return problem(`each port must be 1–65535, not ${port}`);
        return { host: match[1]!, port };
      });
    }),
  /** pino log level. */
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
} as const;

import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ClusterConfig } from './cluster-config';

/**
 * Secrets, each given only to the role that needs it (see `roleEnv`) and only as a file
 * named by `X_FILE`, never in an environment or on a command line: those are readable
 * through /proc by the process's own user, which a shell may be.
 */
export const SECRET_VARIABLES = ['AUTH_JWT_SECRET', 'ANTHROPIC_API_KEY', 'MESSAGE_API_TOKENS', 'REDIS_PASSWORD'];

/** The files holding them in the state folder's `secrets/`, named as docker-compose.yml names them. */
const SECRET_FILES = {
  jwtSecret: 'auth_jwt_secret',
  redisPassword: 'redis_password',
  messageApiTokens: 'message_api_tokens',
  anthropicApiKey: 'anthropic_api_key',
} as const;

/**
 * The state folder may be entered by everyone but listed by no one: users' homes may live
 * below it, while `secrets/`, `logs/` and `redis/` are the launcher user's alone (0700).
 */
export const STATE_DIR_MODE = 0o711;
/** Folders and files only the launcher's user may read. */
export const PRIVATE_DIR_MODE = 0o700;
const PRIVATE_FILE_MODE = 0o600;

/** Random bytes of a secret the launcher makes for a run (256 bits, written as hex). */
const GENERATED_SECRET_BYTES = 32;

/** The secrets of one run, as values. */
export interface ClusterSecrets {
  jwtSecret: string;
  redisPassword: string;
  /** Comma-separated. */
  messageApiTokens: string;
  anthropicApiKey?: string | undefined;
}

/** Where each secret was written (no file for a key that was not given). */
export interface ClusterSecretFiles {
  jwtSecret: string;
  redisPassword: string;
  messageApiTokens: string;
  anthropicApiKey: string | undefined;
}

/**
 * Writes each secret to a file of its own (0600) in a fresh `secrets/` (0700) of the
 * state folder: no secret of an earlier run lingers, and `remove` leaves none behind.
 * Returns the files' paths, for the services' `X_FILE` settings.
 */
export function writeClusterSecrets(
  stateDir: string,
  secrets: ClusterSecrets,
): { files: ClusterSecretFiles; remove: () => void } {
  const dir = path.join(stateDir, 'secrets');
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  remove();
  mkdirSync(dir, { mode: PRIVATE_DIR_MODE });
  const write = (name: string, value: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, value, { mode: PRIVATE_FILE_MODE });
    return file;
  };
  return {
    files: {
      jwtSecret: write(SECRET_FILES.jwtSecret, secrets.jwtSecret),
      redisPassword: write(SECRET_FILES.redisPassword, secrets.redisPassword),
      messageApiTokens: write(SECRET_FILES.messageApiTokens, secrets.messageApiTokens),
      anthropicApiKey: secrets.anthropicApiKey
        ? write(SECRET_FILES.anthropicApiKey, secrets.anthropicApiKey)
        : undefined,
    },
    remove,
  };
}

/** A run's secrets as values and as the files that carry them (see {@link writeRunSecrets}). */
export interface RunSecrets {
  /** The HS256 secret of user tokens. */
  jwtSecret: string;
  /** The password of the run's Redis (hex). */
  redisPassword: string;
  /** Bearer tokens of the message-worker's producer API. */
  messageApiTokens: string[];
  files: ClusterSecretFiles;
  /** Removes the `secrets/` folder; harmless when it is gone already. */
  remove(): void;
}

/**
 * The secrets of a run: the JWT secret, the producer API tokens (comma-separated in the
 * setting) and the Anthropic key as configured, the first two generated when unset, and a
 * new Redis password every run; written with {@link writeClusterSecrets}.
 * @throws the file system's error when `<stateDir>/secrets` cannot be written.
 */
export function writeRunSecrets(
  stateDir: string,
  config: Pick<ClusterConfig, 'AUTH_JWT_SECRET' | 'MESSAGE_API_TOKENS' | 'ANTHROPIC_API_KEY'>,
): RunSecrets {
  const generate = (): string => randomBytes(GENERATED_SECRET_BYTES).toString('hex');
  const jwtSecret = config.AUTH_JWT_SECRET ?? generate();
  const messageApiTokens = (config.MESSAGE_API_TOKENS ?? generate())
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  // Hex: it goes into a redis:// URL and a Redis configuration line as it is.
  const redisPassword = generate();
  const { files, remove } = writeClusterSecrets(stateDir, {
    jwtSecret,
    redisPassword,
    messageApiTokens: messageApiTokens.join(','),
    anthropicApiKey: config.ANTHROPIC_API_KEY,
  });
  return { jwtSecret, redisPassword, messageApiTokens, files, remove };
}

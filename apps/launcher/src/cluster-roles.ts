import path from 'node:path';
import { FILE_SUFFIX } from '@ctos/runtime';
import { SECRET_VARIABLES, type ClusterSecretFiles } from './cluster-secrets';
import type { ClusterRole } from './cluster-types';
import { definedEnv, LOOPBACK, REPO_ROOT } from './cluster-util';

/** Log levels that would hide the `listening` lines the launcher reads. */
const QUIETER_THAN_INFO = new Set(['warn', 'error', 'fatal', 'silent']);

/** Settings only the launcher reads: never passed on to a service. */
export const LAUNCHER_ONLY = [
  'CLUSTER_STATE_DIR',
  'CLUSTER_GATEWAYS',
  'CLUSTER_TERMINAL_WORKERS',
  'CLUSTER_AI_WORKERS',
  'CLUSTER_MESSAGE_WORKERS',
  'CLUSTER_USER',
  'CLUSTER_TOKEN_TTL_S',
  'WEB_DIST_DIR',
];

/**
 * How each role is started. Its port variables are set to 0 (any free port); the real
 * ports are read from its log: `announces` maps a log message to the name the port gets
 * in cluster.json. The first is the process's main `port`.
 */
export const ROLE_SPECS: Record<
  ClusterRole,
  { script: string; portVariables: string[]; announces: Record<string, string> }
> = {
  gateway: { script: 'services/gateway/dist/main.js', portVariables: ['PORT'], announces: { listening: 'http' } },
  'terminal-worker': {
    script: 'services/terminal-worker/dist/main.js',
    portVariables: ['OPS_PORT'],
    announces: { listening: 'ops' },
  },
  'ai-worker': {
    script: 'services/ai-worker/dist/main.js',
    portVariables: ['OPS_PORT'],
    announces: { listening: 'ops' },
  },
  'message-worker': {
    script: 'services/message-worker/dist/main.js',
    portVariables: ['OPS_PORT', 'MESSAGE_API_PORT'],
    announces: { listening: 'ops', 'producer API listening': 'api' },
  },
};

/** The absolute path of the role's compiled entry point (it may not be built). */
export function roleScript(role: ClusterRole): string {
  return path.join(REPO_ROOT, ROLE_SPECS[role].script);
}

/** Start-up order; shutdown runs it backwards after nginx. */
export const ROLE_ORDER: readonly ClusterRole[] = ['terminal-worker', 'ai-worker', 'message-worker', 'gateway'];

/**
 * What every service gets of the launcher's environment: everything but the launcher's
 * own settings and the secrets (those reach a service as files, or not at all).
 */
export function serviceBaseEnv(env: Record<string, string | undefined>, logLevel: string): Record<string, string> {
  const base = definedEnv(env);
  for (const key of [...LAUNCHER_ONLY, ...SECRET_VARIABLES]) {
    delete base[key];
    delete base[`${key}${FILE_SUFFIX}`];
  }
  // The launcher finds ports in the services' info-level `listening` lines; quieter levels
  // would hide them. The console shows only warnings anyway; the log files have the rest.
  if (QUIETER_THAN_INFO.has(logLevel)) {
    delete base[`LOG_LEVEL${FILE_SUFFIX}`];
    base.LOG_LEVEL = 'info';
  }
  return base;
}

/** The settings that say where Redis is; the launcher sets its own run's. */
const REDIS_TARGET_VARIABLES = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_AUTH'];

/** What the launcher sets for one process, on top of {@link serviceBaseEnv}. */
export interface RoleSettings {
  /**
   * How to reach Redis, without its password: `{REDIS_URL}` or `{REDIS_SENTINELS,
   * REDIS_SENTINEL_NAME}` (see `serviceRedisEnv`).
   */
  redis: Record<string, string>;
  redisPrefix: string;
  secretFiles: ClusterSecretFiles;
  /** The AI workers' endpoint, if any. */
  anthropicBaseUrl: string | undefined;
  /** A terminal-worker's isolation settings (see `ClusterIsolation.workerEnv`); empty for other roles. */
  isolationEnv: Record<string, string>;
  /** Settings of this one process (`Cluster.addProcess`), applied last. */
  extra: Record<string, string>;
}

/**
 * The whole environment of one process of `role`: `base`, then loopback addresses, port 0
 * for every port (the real ones are read from its log), Redis, and only the secret files
 * that role needs. What the launcher sets replaces a file the operator named for the same
 * setting (`X_FILE`).
 */
export function roleEnv(
  role: ClusterRole,
  base: Record<string, string>,
  settings: RoleSettings,
): Record<string, string> {
  const { secretFiles, anthropicBaseUrl } = settings;
  const env: Record<string, string> = { ...base };
  const set = (name: string, value: string): void => {
    delete env[`${name}${FILE_SUFFIX}`];
    env[name] = value;
  };
  // The run's Redis only, however the operator's environment names one.
  for (const name of REDIS_TARGET_VARIABLES) {
    delete env[name];
    delete env[`${name}${FILE_SUFFIX}`];
  }
  for (const [name, value] of Object.entries(settings.redis)) set(name, value);
  set('REDIS_PASSWORD_FILE', secretFiles.redisPassword);
  set('REDIS_PREFIX', settings.redisPrefix);
  set('HOST', LOOPBACK);
  for (const name of ROLE_SPECS[role].portVariables) set(name, '0');
  if (role === 'gateway') {
    set('AUTH_JWT_SECRET_FILE', secretFiles.jwtSecret);
    // Gateways sit behind the launcher's nginx, as in compose: limits key on the real client.
    if (env.GATEWAY_TRUST_PROXY === undefined && env[`GATEWAY_TRUST_PROXY${FILE_SUFFIX}`] === undefined) {
      env.GATEWAY_TRUST_PROXY = 'true';
    }
  }
  for (const [name, value] of Object.entries(settings.isolationEnv)) set(name, value);
  if (role === 'message-worker') set('MESSAGE_API_TOKENS_FILE', secretFiles.messageApiTokens);
  if (role === 'ai-worker') {
    if (secretFiles.anthropicApiKey) set('ANTHROPIC_API_KEY_FILE', secretFiles.anthropicApiKey);
    if (anthropicBaseUrl) set('ANTHROPIC_BASE_URL', anthropicBaseUrl);
    // The stand-in accepts any key (this one is no secret); the SDK insists on having one.
    if (!secretFiles.anthropicApiKey && anthropicBaseUrl) set('ANTHROPIC_API_KEY', 'stand-in');
  }
  for (const [name, value] of Object.entries(settings.extra)) set(name, value);
  return env;
}

import { FILE_SUFFIX } from '@ctos/runtime';
import { SECRET_VARIABLES } from './cluster-secrets';
import type { ClusterRole } from './cluster-types';
import { definedEnv } from './cluster-util';

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

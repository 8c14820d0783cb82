import { existsSync } from 'node:fs';
import path from 'node:path';
import { setPorts } from './cluster-process-table';
import { roleScript } from './cluster-roles';
import type { ClusterRun } from './cluster-run';
import { LOOPBACK, REPO_ROOT } from './cluster-util';

/** The stand-in's compiled command line entry point. */
const STANDIN_CLI = path.join(REPO_ROOT, 'testing', 'anthropic-standin', 'dist', 'main.js');

/**
 * The step after Redis: starts the local Anthropic stand-in when no key and no endpoint
 * were given and AI workers will run (wanted and built), and points `run.anthropicBaseUrl`
 * at it. A stand-in that is not built is skipped with a warning: AI workers get no endpoint.
 * @throws Error naming the stand-in and its last lines when it exits before printing its URL.
 */
export async function startAnthropicStandin(run: ClusterRun): Promise<void> {
  const { config, options } = run;
  const aiWorkerBuilt = existsSync(roleScript('ai-worker'));
  if (config.ANTHROPIC_API_KEY || config.ANTHROPIC_BASE_URL || config.CLUSTER_AI_WORKERS <= 0 || !aiWorkerBuilt) {
    return;
  }
  if (!existsSync(STANDIN_CLI)) {
    options.logger.warn({ cli: STANDIN_CLI }, 'the Anthropic stand-in is not built; AI workers get no endpoint');
    return;
  }
  const standin = run.processes.launch('anthropic-standin', process.execPath, [STANDIN_CLI], {
    PATH: run.baseEnv.PATH ?? '/usr/bin:/bin',
    PORT: '0',
    STANDIN_HOST: LOOPBACK,
  });
  const line = await standin.process.waitForLine((l) => l.startsWith('{"url":'), 'it printed its URL');
  run.anthropicBaseUrl = (JSON.parse(line) as { url: string }).url;
  setPorts(standin, { http: Number(new URL(run.anthropicBaseUrl).port) });
}

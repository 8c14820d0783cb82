import { runService } from '@ctos/transport';
import { loadTerminalWorkerConfig } from './config';
import { isolationProblems } from './privileges';
import { createTerminalWorker } from './terminal-worker';

/**
 * The terminal-worker process in distributed mode: `REDIS_URL` is required, and so is the
 * privilege to run shells as their users unless `TERMINAL_ISOLATION=none` (it never falls
 * back by itself).
 */
void runService({
  service: 'terminal-worker',
  kind: 'terminal',
  load: loadTerminalWorkerConfig,
  required: isolationProblems,
  port: (config) => config.OPS_PORT,
  start: async (deps) => {
    const worker = createTerminalWorker(deps);
    worker.start();
    return worker;
  },
});

import { runWorkerProcess } from '@ctos/transport';
import { loadTerminalWorkerConfig } from './config';
import { createTerminalWorker } from './terminal-worker';

/** The terminal-worker process in distributed mode: `REDIS_URL` is required. */
void runWorkerProcess({
  service: 'terminal-worker',
  kind: 'terminal',
  load: loadTerminalWorkerConfig,
  start: async (deps) => {
    const worker = createTerminalWorker(deps);
    worker.start();
    return worker;
  },
});

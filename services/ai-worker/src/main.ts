import { runService } from '@ctos/transport';
import { createAiWorker } from './ai-worker';
import { loadAiWorkerConfig } from './config';

/** The ai-worker process in distributed mode: `REDIS_URL` is required; without `ANTHROPIC_API_KEY` it answers UNAVAILABLE. */
void runService({
  service: 'ai-worker',
  kind: 'ai',
  load: loadAiWorkerConfig,
  port: (config) => config.OPS_PORT,
  start: async (deps) => {
    const worker = createAiWorker(deps);
    worker.start();
    return worker;
  },
});

import { runService } from '@ctos/transport';
import { loadMessageWorkerConfig } from './config';
import { createMessageWorker } from './message-worker';

/** The message-worker process in distributed mode: `REDIS_URL` and `MESSAGE_API_TOKENS` are required. */
void runService({
  service: 'message-worker',
  kind: 'message',
  load: loadMessageWorkerConfig,
  required: (config) =>
    config.MESSAGE_API_TOKENS.length > 0
      ? []
      : ['MESSAGE_API_TOKENS: required (the service tokens producers send to POST /messages)'],
  port: (config) => config.OPS_PORT,
  start: async (deps) => {
    const worker = createMessageWorker(deps);
    worker.start();
    await worker.listen(deps.config.MESSAGE_API_PORT, deps.config.HOST);
    return worker;
  },
});

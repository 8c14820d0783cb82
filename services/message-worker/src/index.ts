/**
 * @packageDocumentation
 * The message-worker: per-user notifications, persisted with a retention bound,
 * delivered to every tab of the user, with per-user read state and a producer HTTP API.
 */
export { loadMessageWorkerConfig, messageWorkerSettings, type MessageWorkerConfig } from './config';
export { createMessageWorker, type MessageWorker, type MessageWorkerDeps } from './message-worker';
export { MessageService, type PublishRequest, type PublishResult } from './message-service';
export { createProducerApi, type ProducerApiDeps } from './producer-api';

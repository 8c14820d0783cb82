/**
 * @packageDocumentation
 * The ai-worker: streamed assistant replies through `@anthropic-ai/sdk` — cancellable,
 * resumable from any gateway, with the conversation history kept in the store.
 */
export { aiWorkerSettings, loadAiWorkerConfig, type AiWorkerConfig } from './config';
export { createAiWorker, type AiWorker, type AiWorkerDeps } from './ai-worker';
export { NO_API_KEY_MESSAGE } from './message-intake';
export { createUpstream, type Upstream, type UpstreamEvent } from './upstream';

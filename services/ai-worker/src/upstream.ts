import Anthropic, { type ClientOptions } from '@anthropic-ai/sdk';
import type { Logger } from '@ctos/runtime';
import type { AiWorkerConfig } from './config';
import type { ContextTurn } from './conversation-reader';

/** A streamed reply as the SDK yields it (pings are filtered out by the SDK). */
export type UpstreamEvent = Anthropic.RawMessageStreamEvent;

/** The Messages API, as the worker uses it. */
export interface Upstream {
  /**
   * Starts a streamed reply to `messages`; resolves once the API answered with its
   * headers (after the SDK's retries), then yields events. Aborting `signal` aborts the
   * HTTP request: before the headers the promise rejects with `APIUserAbortError`, after
   * them the iteration just ends. Rejects or throws the SDK's errors otherwise.
   */
  open(messages: ContextTurn[], signal: AbortSignal): Promise<AsyncIterable<UpstreamEvent>>;
}

/**
 * The real API through `@anthropic-ai/sdk`, configured from the worker's settings only
 * (the key and base URL are passed in, so the SDK reads neither from the environment).
 * Undefined when no API key is configured.
 */
export function createUpstream(config: AiWorkerConfig, logger: Logger): Upstream | undefined {
  if (!config.ANTHROPIC_API_KEY) return undefined;
  const client = new Anthropic({
    apiKey: config.ANTHROPIC_API_KEY,
    baseURL: config.ANTHROPIC_BASE_URL,
    webhookKey: null,
    timeout: config.AI_TIMEOUT_MS,
    maxRetries: config.AI_MAX_RETRIES,
    logLevel: 'warn',
    logger: sdkLogger(logger.child({ component: 'anthropic-sdk' })),
  });
  const system = config.AI_SYSTEM_PROMPT.trim() === '' ? {} : { system: config.AI_SYSTEM_PROMPT };
  return {
    open: (messages, signal) =>
      client.messages.create(
        { model: config.AI_MODEL, max_tokens: config.AI_MAX_TOKENS, ...system, messages, stream: true },
        { signal },
      ),
  };
}

/** The SDK's own warnings, as JSON log lines. */
function sdkLogger(logger: Logger): NonNullable<ClientOptions['logger']> {
  return {
    error: (message) => logger.error(message),
    warn: (message) => logger.warn(message),
    info: (message) => logger.info(message),
    debug: (message) => logger.debug(message),
  };
}

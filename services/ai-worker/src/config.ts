import { z } from 'zod';
import { commonSettings, ConfigError, parseConfig, setting } from '@ctos/runtime';

/** What the assistant is told about itself when the operator says nothing else. */
const DEFAULT_SYSTEM_PROMPT =
  'You are the assistant built into ChingTech OS, a web desktop with terminals. ' +
  'Answer clearly and concisely; use Markdown, and fenced code blocks for commands and code. ' +
  'Say so when you are unsure, and warn before suggesting anything destructive.';

/** Environment variables of the ai-worker, with their defaults. */
export const aiWorkerSettings = {
  ...commonSettings,
  /** Port of /healthz, /readyz and /metrics (0: any free port). */
  OPS_PORT: setting.port(9102),
  /**
   * The Anthropic API key (the SDK's own variable name). Unset: the worker starts, logs
   * a warning, and answers every `ai:message` with `UNAVAILABLE` saying how to set it.
   */
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  /** Base URL of the Messages API (the SDK's own variable name); point it at a proxy or a stand-in. */
  ANTHROPIC_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://api.anthropic.com'),
  /** Model every reply is written by. */
  AI_MODEL: z.string().min(1).default('claude-sonnet-5-5'),
  /** Upper bound of one reply's length (tokens, the API's `max_tokens`). */
  AI_MAX_TOKENS: setting.int(4096, 1, 128_000),
  /** System prompt sent with every request. */
  AI_SYSTEM_PROMPT: z.string().default(DEFAULT_SYSTEM_PROMPT),
  /** How long one attempt may wait for the API's response headers (ms); the SDK's `timeout`. */
  AI_TIMEOUT_MS: setting.int(60_000, 100, 10 * 60 * 1000),
  /** Retries of a request the API answered 408/409/429/5xx/529 or a connection failure (the SDK's `maxRetries`); a stream that fails midway is not retried. */
  AI_MAX_RETRIES: setting.int(2, 0, 10),
  /**
   * Earlier turns sent as context, newest first, while their text fits this many
   * characters (characters, not tokens: about 4 per token in English). The new message
   * is always sent, whatever its length.
   */
  AI_CONTEXT_BUDGET_CHARS: setting.int(100_000, 0, 10_000_000),
  /**
   * A reply with no content event from the API for this long (ms) is aborted and marked
   * interrupted (pings do not count). P15: 90 s.
   */
  AI_STREAM_IDLE_MS: setting.int(90_000, 50, 60 * 60 * 1000),
  /** Longest one reply may take in all (ms), retries included; it is then aborted and marked interrupted. */
  AI_STREAM_MAX_MS: setting.int(10 * 60 * 1000, 100, 24 * 60 * 60 * 1000),
  /** Messages one user may send per minute, across every worker; more get `RATE_LIMITED`. */
  AI_MESSAGES_PER_MINUTE: setting.int(20, 1, 100_000),
  /** Replies this worker streams at once before placement skips it. */
  AI_WORKER_CAPACITY: setting.int(200, 1, 100_000),
  /** On shutdown, how long replies in flight may run on before they are cut off as interrupted (ms). */
  AI_DRAIN_GRACE_MS: setting.int(5000, 0, 10 * 60 * 1000),
};

/** The ai-worker's parsed configuration. */
export type AiWorkerConfig = z.output<z.ZodObject<typeof aiWorkerSettings>>;

/**
 * Parses the ai-worker's settings from `env` (default: this process's).
 * @throws ConfigError listing every bad value.
 */
export function loadAiWorkerConfig(env: Record<string, string | undefined> = process.env): AiWorkerConfig {
  const config = parseConfig(z.object(aiWorkerSettings), env);
  if (config.AI_STREAM_IDLE_MS > config.AI_STREAM_MAX_MS) {
    throw new ConfigError(['AI_STREAM_IDLE_MS must not be above AI_STREAM_MAX_MS']);
  }
  return config;
}

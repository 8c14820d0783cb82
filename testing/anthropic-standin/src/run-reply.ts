import { performance } from 'node:perf_hooks';
import { defaultErrorMessage, errorTypeForStatus, statusForErrorType } from './api-errors';
import { sleep, untilAborted } from './cancellable-sleep';
import { FrameWriter } from './frame-writer';
import { newMessageId } from './ids';
import type { MessagesRequest } from './messages-request';
import type { CacheAccount, PromptCache } from './prompt-cache';
import type { Fault, HttpErrorReply, Reply } from './reply';
import {
  faultIndex,
  outputLength,
  planContent,
  type PlannedBlock,
  type PlannedEvent,
  streamPlan,
} from './reply-content';
import { type ResponseContext, sendApiError, sendJson } from './response-context';
import { completeMessage, type MessageFacts, type MessageUsage, ping, streamError } from './wire-events';

/** The stand-in's output token estimate: about four characters a token. */
const CHARS_PER_TOKEN = 4;

function sendHttpError(ctx: ResponseContext, error: HttpErrorReply): void {
  const type = error.type ?? errorTypeForStatus(error.status);
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  if (error.shouldRetry !== undefined) headers['x-should-retry'] = String(error.shouldRetry);
  sendApiError(ctx, error.status, type, error.message ?? defaultErrorMessage(type), headers);
}

async function breakStream(ctx: ResponseContext, out: FrameWriter, fault: Fault): Promise<void> {
  switch (fault.kind) {
    case 'error-event': {
      const type = fault.type ?? 'overloaded_error';
      await out.send(streamError(type, fault.message ?? defaultErrorMessage(type)));
      ctx.res.end();
      return;
    }
    case 'stall':
      await untilAborted(ctx.signal);
      return;
    case 'drop':
      ctx.drop();
      return;
  }
}

async function streamMessage(
  ctx: ResponseContext,
  reply: Reply,
  plan: readonly PlannedEvent[],
  begin: () => void,
): Promise<void> {
  ctx.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'request-id': ctx.requestId,
  });
  // Clients measure time to first byte from the headers, so they go out before the first frame is cut up.
  ctx.res.flushHeaders();
  begin();
  const out = new FrameWriter(ctx.res, reply.wire ?? {}, ctx.signal);
  const pingIntervalMs = reply.pingIntervalMs ?? 0;
  let nextPingAt = Infinity;
  const pause = async (ms: number): Promise<void> => {
    const until = performance.now() + ms;
    while (pingIntervalMs > 0 && nextPingAt < until) {
      await sleep(nextPingAt - performance.now(), ctx.signal);
      await out.send(ping());
      nextPingAt = performance.now() + pingIntervalMs;
    }
    await sleep(until - performance.now(), ctx.signal);
  };

  const fault = reply.fault;
  const faultAt = fault === undefined ? -1 : faultIndex(plan, fault.afterDeltas);
  let deltasSent = 0;
  for (const [i, { event, delta }] of plan.entries()) {
    if (fault !== undefined && i === faultAt) return breakStream(ctx, out, fault);
    if (delta) await pause(deltasSent++ === 0 ? (reply.firstDeltaDelayMs ?? 0) : (reply.deltaIntervalMs ?? 0));
    await out.send(event);
    // Periodic pings start once the first block has started (its own ping follows at once, or after a tool
    // call's first delta).
    if (event.type === 'content_block_start' && nextPingAt === Infinity) {
      nextPingAt = performance.now() + pingIntervalMs;
    }
  }
  ctx.res.end();
}

async function answerWithJson(
  ctx: ResponseContext,
  reply: Reply,
  blocks: readonly PlannedBlock[],
  facts: MessageFacts,
  begin: () => void,
): Promise<void> {
  // The whole generation time passes before a non-streaming answer, as with the real API.
  const deltaCount = blocks.reduce((sum, planned) => sum + planned.deltas.length, 0);
  const generationMs = (reply.firstDeltaDelayMs ?? 0) + (reply.deltaIntervalMs ?? 0) * Math.max(0, deltaCount - 1);
  await sleep(generationMs, ctx.signal);
  const fault = reply.fault;
  if (fault?.kind === 'error-event') {
    const type = fault.type ?? 'overloaded_error';
    sendApiError(ctx, statusForErrorType(type), type, fault.message ?? defaultErrorMessage(type));
  } else if (fault?.kind === 'stall') {
    await untilAborted(ctx.signal);
  } else if (fault?.kind === 'drop') {
    ctx.drop();
  } else {
    begin();
    const content = blocks.map((planned) => planned.block);
    sendJson(ctx, 200, completeMessage(facts, content));
  }
}

/** The `usage` of the message: the prompt cache's account of the input, unless the reply overrides figures. */
function messageUsage(reply: Reply, account: CacheAccount, blocks: readonly PlannedBlock[]): MessageUsage {
  const given = reply.usage ?? {};
  const creation = given.cacheCreationInputTokens ?? account.cacheCreationInputTokens;
  // An overridden creation figure is reported as 5-minute writes, the default TTL.
  const oneHour = given.cacheCreationInputTokens === undefined ? account.ephemeral1hInputTokens : 0;
  return {
    input_tokens: given.inputTokens ?? account.inputTokens,
    cache_creation_input_tokens: creation,
    cache_read_input_tokens: given.cacheReadInputTokens ?? account.cacheReadInputTokens,
    cache_creation: { ephemeral_5m_input_tokens: creation - oneHour, ephemeral_1h_input_tokens: oneHour },
    output_tokens: given.outputTokens ?? Math.max(1, Math.ceil(outputLength(blocks) / CHARS_PER_TOKEN)),
    service_tier: 'standard',
  };
}

/** What {@link runReply} needs besides the reply and the request. */
export interface ReplyRun {
  /** {@link ScriptRequest.attempt} of this request, for `error.times`. */
  readonly attempt: number;
  /** The stand-in's prompt cache, which accounts for the input and remembers its prefixes. */
  readonly cache: PromptCache;
  /** Told the `usage` of the message once the message is on its way (never for an HTTP error). */
  readonly onUsage?: (usage: MessageUsage) => void;
}

/**
 * Answers a validated `POST /v1/messages` as `reply` says: an HTTP error (when `reply.error` applies to
 * this attempt), an SSE stream when `request.stream` is true, or a JSON message otherwise. The prompt cache
 * remembers the request's prefixes once a message is on its way.
 *
 * @throws ConnectionGone when the connection closes before the reply is complete.
 * @throws TypeError when a scripted tool use is malformed.
 */
export async function runReply(
  ctx: ResponseContext,
  reply: Reply,
  request: MessagesRequest,
  run: ReplyRun,
): Promise<void> {
  const blocks = planContent(reply, request);
  const account = run.cache.account(request);
  const facts: MessageFacts = {
    id: newMessageId(),
    model: reply.model ?? request.model,
    usage: messageUsage(reply, account, blocks),
    stopReason: reply.stopReason ?? (reply.toolUses?.length ? 'tool_use' : 'end_turn'),
    stopSequence: reply.stopSequence ?? null,
  };

  await sleep(reply.headersDelayMs ?? 0, ctx.signal);
  const error = reply.error;
  if (error !== undefined && (error.times === undefined || run.attempt < error.times)) {
    sendHttpError(ctx, error);
    return;
  }
  // Once a message is on its way, the cache holds the prompt's prefixes and the usage is what was reported.
  const begin = (): void => {
    account.commit();
    run.onUsage?.(facts.usage);
  };
  if (request.stream === true) await streamMessage(ctx, reply, streamPlan(blocks, facts), begin);
  else await answerWithJson(ctx, reply, blocks, facts, begin);
}

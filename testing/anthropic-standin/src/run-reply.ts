import { performance } from 'node:perf_hooks';
import { defaultErrorMessage, errorTypeForStatus, statusForErrorType } from './api-errors';
import { sleep, untilAborted } from './cancellable-sleep';
import { chunkText } from './chunk-text';
import { echoText } from './echo-script';
import { FrameWriter } from './frame-writer';
import { newMessageId } from './ids';
import { estimateInputTokens, type MessagesRequest } from './messages-request';
import type { Fault, HttpErrorReply, Reply } from './reply';
import { type ResponseContext, sendApiError, sendJson } from './response-context';
import {
  completeMessage,
  contentBlockStart,
  contentBlockStop,
  type MessageFacts,
  messageDelta,
  messageStart,
  messageStop,
  ping,
  streamError,
  textDelta,
} from './wire-events';

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
  deltas: readonly string[],
  facts: MessageFacts,
): Promise<void> {
  ctx.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'request-id': ctx.requestId,
  });
  // Clients measure time to first byte from the headers, so they go out before the first frame is cut up.
  ctx.res.flushHeaders();
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

  await out.send(messageStart(facts));
  await out.send(contentBlockStart());
  await out.send(ping());
  nextPingAt = performance.now() + pingIntervalMs;

  const fault = reply.fault;
  const faultAt = fault === undefined ? -1 : Math.min(Math.max(0, fault.afterDeltas), deltas.length);
  for (const [i, delta] of deltas.entries()) {
    if (fault !== undefined && i === faultAt) return breakStream(ctx, out, fault);
    await pause(i === 0 ? (reply.firstDeltaDelayMs ?? 0) : (reply.deltaIntervalMs ?? 0));
    await out.send(textDelta(delta));
  }
  if (fault !== undefined) return breakStream(ctx, out, fault);

  await out.send(contentBlockStop());
  await out.send(messageDelta(facts));
  await out.send(messageStop());
  ctx.res.end();
}

async function answerWithJson(
  ctx: ResponseContext,
  reply: Reply,
  deltas: readonly string[],
  facts: MessageFacts,
): Promise<void> {
  // The whole generation time passes before a non-streaming answer, as with the real API.
  const generationMs = (reply.firstDeltaDelayMs ?? 0) + (reply.deltaIntervalMs ?? 0) * Math.max(0, deltas.length - 1);
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
    sendJson(ctx, 200, completeMessage(facts, deltas.join('')));
  }
}

/**
 * Answers a validated `POST /v1/messages` as `reply` says: an HTTP error (when `reply.error` applies to
 * this `attempt`), an SSE stream when `request.stream` is true, or a JSON message otherwise.
 *
 * @throws ConnectionGone when the connection closes before the reply is complete.
 */
export async function runReply(
  ctx: ResponseContext,
  reply: Reply,
  request: MessagesRequest,
  attempt: number,
): Promise<void> {
  const deltas = reply.deltas ? [...reply.deltas] : chunkText(reply.text ?? echoText(request), reply.chunks);
  const text = deltas.join('');
  const facts: MessageFacts = {
    id: newMessageId(),
    model: reply.model ?? request.model,
    inputTokens: reply.usage?.inputTokens ?? estimateInputTokens(request),
    outputTokens: reply.usage?.outputTokens ?? Math.max(1, Math.ceil(text.length / 4)),
    stopReason: reply.stopReason ?? 'end_turn',
    stopSequence: reply.stopSequence ?? null,
  };

  await sleep(reply.headersDelayMs ?? 0, ctx.signal);
  const error = reply.error;
  if (error !== undefined && (error.times === undefined || attempt < error.times)) {
    sendHttpError(ctx, error);
  } else if (request.stream === true) {
    await streamMessage(ctx, reply, deltas, facts);
  } else {
    await answerWithJson(ctx, reply, deltas, facts);
  }
}

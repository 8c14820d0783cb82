import { randomUUID } from 'node:crypto';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { AiErrorEvent, AiStreamChunkEvent, AiStreamEndEvent } from '@ctos/protocol';
import { connectClient, signToken, type ClientSocket } from '@ctos/testkit';
import { nextMessage } from '../ipc';
import type { OwnedProcesses } from '../owned-processes';
import type { FigureRow } from '../report';
import { attempt, type RunContext } from '../run-context';
import { median } from '../stats';
import { scriptedDeltas } from '../scripted-reply';

/** How long the stand-in may take to start (ms). */
const START_TIMEOUT_MS = 20_000;
/** A gateway that has not acknowledged `ai:message` by then has no AI route (ms). */
const ACK_TIMEOUT_MS = 10_000;
/** A whole scripted reply takes far less than this (ms). */
const REPLY_TIMEOUT_MS = 60_000;
/** Issue 17: time to first chunk within this much of the direct SDK (ms). */
const TTFC_BUDGET_MS = 2;
/** Issues 8 and 17: total time within this factor of the direct SDK. */
const TOTAL_FACTOR = 1.05;
/** The model named in requests; the stand-in answers any. */
const MODEL = 'claude-sonnet-5-5';

/** One timed reply. */
interface ReplyTiming {
  /** From sending to the first text (ms). */
  firstMs: number;
  /** From sending to the end of the reply (ms). */
  totalMs: number;
  /** Text pieces received: the deltas, or the chunks the relay joined them into. */
  pieces: number;
}

/** Starts the scripted stand-in (standin-main.js) and returns its base URL. */
export async function startScriptedStandin(
  owned: OwnedProcesses,
  env: Record<string, string>,
  chunks: number,
  deltaIntervalMs = 0,
) {
  const child = owned.fork('anthropic-standin', path.join(__dirname, '..', 'standin-main.js'), env);
  await nextMessage(child.child, 'ready', START_TIMEOUT_MS);
  const listening = nextMessage<{ type: 'listening'; url: string }>(child.child, 'listening', START_TIMEOUT_MS);
  child.child.send({ type: 'start', chunks, deltaIntervalMs });
  return { url: (await listening).url, process: child };
}

/** The text the scripted reply carries in all. */
function expectedText(chunks: number): string {
  return scriptedDeltas(chunks).join('');
}

/** One reply straight from the SDK, as the ai-worker calls it (`messages.create` with `stream: true`). */
async function directReply(client: Anthropic, expected: string): Promise<ReplyTiming> {
  const started = performance.now();
  let firstMs: number | undefined;
  let text = '';
  let pieces = 0;
  const stream = await client.messages.create({
    model: MODEL,
    max_tokens: 4096,
    messages: [{ role: 'user', content: 'Benchmark: reply with the scripted text.' }],
    stream: true,
  });
  for await (const event of stream) {
    if (event.type !== 'content_block_delta' || event.delta.type !== 'text_delta') continue;
    firstMs ??= performance.now() - started;
    text += event.delta.text;
    pieces++;
  }
  const totalMs = performance.now() - started;
  if (text !== expected) throw new Error(`the direct reply had ${text.length} of ${expected.length} characters`);
  return { firstMs: firstMs ?? totalMs, totalMs, pieces };
}

/** One reply through the system: `ai:message` on `socket` to `ai:stream:end`. */
function systemReply(socket: ClientSocket, expected: string): Promise<ReplyTiming> {
  const conversationId = randomUUID();
  return new Promise((resolve, reject) => {
    let firstMs: number | undefined;
    let text = '';
    let pieces = 0;
    const cleanup = (): void => {
      clearTimeout(ackTimer);
      clearTimeout(replyTimer);
      socket.off('ai:stream:chunk', onChunk);
      socket.off('ai:stream:end', onEnd);
      socket.off('ai:error', onError);
    };
    const fail = (message: string): void => {
      cleanup();
      reject(new Error(message));
    };
    const onChunk = (event: AiStreamChunkEvent): void => {
      if (event.conversation_id !== conversationId) return;
      firstMs ??= performance.now() - started;
      text += event.chunk;
      pieces++;
    };
    const onEnd = (event: AiStreamEndEvent): void => {
      if (event.conversation_id !== conversationId) return;
      const totalMs = performance.now() - started;
      cleanup();
      if (text !== expected) reject(new Error(`the relayed reply had ${text.length} of ${expected.length} characters`));
      else resolve({ firstMs: firstMs ?? totalMs, totalMs, pieces });
    };
    const onError = (event: AiErrorEvent): void => {
      if (event.conversation_id === undefined || event.conversation_id === conversationId) {
        fail(`ai:error ${event.code}: ${event.error}`);
      }
    };
    socket.on('ai:stream:chunk', onChunk);
    socket.on('ai:stream:end', onEnd);
    socket.on('ai:error', onError);
    const ackTimer = setTimeout(
      () =>
        fail(
          'the gateway did not acknowledge ai:message: its AI route is not registered (services/gateway/src/routes.ts)',
        ),
      ACK_TIMEOUT_MS,
    );
    const replyTimer = setTimeout(() => fail(`no ai:stream:end within ${REPLY_TIMEOUT_MS} ms`), REPLY_TIMEOUT_MS);
    const started = performance.now();
    socket.emit(
      'ai:message',
      { conversation_id: conversationId, content: 'Benchmark: reply with the scripted text.' },
      (ack) => {
        clearTimeout(ackTimer);
        if (!ack.success) fail(`ai:message refused: ${ack.code}: ${ack.error}`);
      },
    );
  });
}

/**
 * Figure 5: a scripted BENCH_AI_CHUNKS-delta reply, timed to its first text and to its
 * end, through nginx → gateway → ai-worker → stand-in and back, against the SDK
 * reading the same stand-in directly. One warm-up each, then BENCH_AI_RUNS each,
 * alternating; medians. Each system run is a new user and conversation, so the
 * per-user rate limit and the context window never come into it.
 */
export async function aiRelayFigure(context: RunContext, url: string, secret: string, standinUrl: string) {
  const { BENCH_AI_CHUNKS: chunks, BENCH_AI_RUNS: runs } = context.config;
  const expected = expectedText(chunks);
  context.progress(`5 AI relay: ${chunks}-chunk reply, ${runs} runs each`);
  const client = new Anthropic({ apiKey: 'bench-standin-key', baseURL: standinUrl, maxRetries: 0 });
  const direct: ReplyTiming[] = [];
  const relayed: ReplyTiming[] = [];
  const directOk = await attempt(context, 'AI direct SDK', async () => {
    await directReply(client, expected); // warm-up
    return true;
  });
  const systemOk = await attempt(context, 'AI through the system', async () => {
    const socket = await connectClient(url, await signToken('ai-warmup', { secret }));
    try {
      await systemReply(socket, expected); // warm-up
    } finally {
      socket.close();
    }
    return true;
  });
  for (let run = 0; run < runs; run++) {
    if (directOk) {
      const timing = await attempt(context, `AI direct run ${run}`, () => directReply(client, expected));
      if (timing) direct.push(timing);
    }
    if (systemOk) {
      const timing = await attempt(context, `AI system run ${run}`, async () => {
        const socket = await connectClient(url, await signToken(`ai-run-${run}`, { secret }));
        try {
          return await systemReply(socket, expected);
        } finally {
          socket.close();
        }
      });
      if (timing) relayed.push(timing);
    }
  }
  context.details.ai_relay = { direct, system: relayed };
  const pick = (timings: ReplyTiming[], field: 'firstMs' | 'totalMs'): number | null =>
    timings.length > 0 ? median(timings.map((t) => t[field])) : null;
  const firstSystem = pick(relayed, 'firstMs');
  const firstDirect = pick(direct, 'firstMs');
  const totalSystem = pick(relayed, 'totalMs');
  const totalDirect = pick(direct, 'totalMs');
  const notRun = systemOk ? undefined : 'not measured through the system: see problems';
  const rows: FigureRow[] = [
    {
      key: 'ai.first_chunk',
      figure: 5,
      label: `AI time to first chunk (${chunks}-chunk reply, median)`,
      value: firstSystem,
      unit: 'ms',
      baseline: firstDirect,
      baselineLabel: '(SDK → stand-in directly)',
      comparison: 'offset',
      target: `≤ baseline + ${TTFC_BUDGET_MS} ms`,
      met: firstSystem !== null && firstDirect !== null ? firstSystem <= firstDirect + TTFC_BUDGET_MS : null,
      ...(notRun ? { note: notRun } : {}),
    },
    {
      key: 'ai.total',
      figure: 5,
      label: `AI total reply time (${chunks}-chunk reply, median)`,
      value: totalSystem,
      unit: 'ms',
      baseline: totalDirect,
      baselineLabel: '(SDK → stand-in directly)',
      comparison: 'ratio',
      target: `≤ ${TOTAL_FACTOR} × baseline`,
      met: totalSystem !== null && totalDirect !== null ? totalSystem <= TOTAL_FACTOR * totalDirect : null,
      ...(relayed.length > 0
        ? { note: `the relay delivered ${median(relayed.map((t) => t.pieces))} chunk events for ${chunks} deltas` }
        : {}),
    },
  ];
  return rows;
}

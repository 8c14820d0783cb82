import type { AiBusMessage } from '@ctos/protocol';
import { aiStoreKeys } from '@ctos/protocol';
import { createLogger } from '@ctos/runtime';
import { waitFor } from '@ctos/testkit';
import { MemoryStore, type KeyValueStore, type RoomEmitter } from '@ctos/transport';
import { Registry } from 'prom-client';
import { loadAiWorkerConfig } from '../src/config';
import { ConversationStore } from '../src/conversation-store';
import { LiveReplies } from '../src/live-replies';
import { MessageIntake } from '../src/message-intake';
import { createAiWorkerMetrics } from '../src/metrics';
import { RateLimiter } from '../src/rate-limiter';
import { CHUNK_INTERVAL_MS } from '../src/reply-outbox';
import type { Upstream, UpstreamEvent } from '../src/upstream';

/**
 * The round trips a reply waits on, counted on a store that answers the commands sent
 * so far only when the test says (one "round trip" each time): issue 17's AI relay
 * budget. Each waiting step costs a Redis round trip on the path to the first chunk or
 * to the end, so the intake and the relay send what they can together.
 */

/** A store whose commands wait until {@link round} answers every one sent so far, in order. */
class RoundTripStore {
  private queue: Array<() => Promise<void>> = [];
  /** The commands in the order they were sent, as `name key`. */
  readonly log: string[];
  readonly store: KeyValueStore;

  constructor(
    log: string[],
    private readonly fails: (command: string) => boolean = () => false,
  ) {
    this.log = log;
    const memory = new MemoryStore();
    this.store = new Proxy(memory, {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const command = `${String(name)} ${String(args[0])}`;
          this.log.push(command);
          return new Promise((resolve, reject) => {
            this.queue.push(() =>
              this.fails(command)
                ? Promise.resolve(reject(new Error(`refused: ${command}`)))
                : (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).then(resolve, reject),
            );
          });
        };
      },
    }) as KeyValueStore;
  }

  /** True when commands wait for an answer. */
  get waiting(): boolean {
    return this.queue.length > 0;
  }

  /** Answers every command sent so far, in order: one round trip. */
  async round(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    for (const run of batch) await run();
  }
}

/** A stream the test writes events into. */
class ScriptedStream implements AsyncIterable<UpstreamEvent> {
  private readonly events: UpstreamEvent[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  push(...events: UpstreamEvent[]): void {
    this.events.push(...events);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<UpstreamEvent> {
    for (;;) {
      const event = this.events.shift();
      if (event) yield event;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

const delta = (text: string): UpstreamEvent =>
  ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }) as UpstreamEvent;
const stop: UpstreamEvent[] = [
  { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } } as UpstreamEvent,
  { type: 'message_stop' } as UpstreamEvent,
];

/** Lets every promise and immediate that can run now run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** An intake over a {@link RoundTripStore}, an upstream the test scripts and an emitter that logs. */
function setup(fails?: (command: string) => boolean) {
  const log: string[] = [];
  const roundTrips = new RoundTripStore(log, fails);
  const requests: Array<{ messages: unknown; stream: ScriptedStream }> = [];
  const upstream: Upstream = {
    open: async (messages) => {
      const stream = new ScriptedStream();
      requests.push({ messages, stream });
      return stream;
    },
  };
  const emitter: RoomEmitter = {
    emit: async (_room, event, payload) => {
      const chunk = event === 'ai:stream:chunk' ? ` ${(payload as { chunk: string }).chunk}` : '';
      log.push(`emit ${event}${chunk}`);
      return true;
    },
  };
  const config = loadAiWorkerConfig({ ANTHROPIC_API_KEY: 'sk-ant-test', AI_DRAIN_GRACE_MS: '0' });
  const conversations = new ConversationStore(roundTrips.store);
  const live = new LiveReplies(0);
  const intake = new MessageIntake({
    worker: 'ai-1',
    config,
    upstream,
    conversations,
    rate: new RateLimiter(roundTrips.store, config.AI_MESSAGES_PER_MINUTE),
    live,
    emitter,
    metrics: createAiWorkerMetrics(new Registry(), () => live.streaming),
    logger: createLogger({ service: 'ai-worker', level: 'silent' }),
    isDraining: () => false,
    touch: () => undefined,
  });
  /** Round trips until `done()` holds (answering one each time it does not). */
  const roundTripsUntil = async (done: () => boolean): Promise<number> => {
    let count = 0;
    for (await settle(); !done(); await settle()) {
      if (!roundTrips.waiting) throw new Error('nothing waits on the store, and the step did not happen');
      await roundTrips.round();
      count++;
    }
    return count;
  };
  /** Stops what is left (as a drain does) and answers the store until it has stopped. */
  const stopAll = async (): Promise<void> => {
    let stopped = false;
    const stopping = live.dispose().then(() => (stopped = true));
    for (const request of requests) request.stream.end();
    await waitFor(async () => {
      await roundTrips.round();
      return stopped;
    });
    await stopping;
  };
  const message = (conversationId: string, content: string) => {
    const m: Extract<AiBusMessage, { op: 'message' }> = {
      op: 'message',
      user: 'alice',
      conversation_id: conversationId,
      content,
      gateway: 'gateway-1',
      holder: 'socket-1',
    };
    let answered = false;
    const accepted = intake.accept(m).finally(() => (answered = true));
    return { accepted, answered: () => answered };
  };
  return { log, roundTrips, requests, live, conversations, message, roundTripsUntil, stopAll };
}

describe('the round trips of an AI reply', () => {
  let current: ReturnType<typeof setup>;
  const start = (fails?: (command: string) => boolean): ReturnType<typeof setup> => (current = setup(fails));
  afterEach(() => current.stopAll());

  it('opens the upstream request and answers after three round trips for a new conversation, once the turn is stored', async () => {
    const { requests, message, roundTripsUntil, log } = start();
    const { accepted, answered } = message('conversation-1', 'hello');
    expect(await roundTripsUntil(() => requests.length === 1)).toBe(3);
    await settle();
    expect(answered()).toBe(true);
    await accepted;
    // Nothing reaches the room before the gateway releases the reply.
    expect(log.filter((entry) => entry.startsWith('emit'))).toEqual([]);
  });

  it('opens the upstream request after three round trips in a conversation with history, with that history as context', async () => {
    const { requests, live, message, roundTripsUntil } = start();
    const first = message('conversation-1', 'first question');
    await roundTripsUntil(first.answered);
    const { message_id: firstId } = await first.accepted;
    live.relay(firstId)!.release('socket-1');
    requests[0]!.stream.push(delta('first answer'), ...stop);
    requests[0]!.stream.end();
    await roundTripsUntil(() => live.relay(firstId) === undefined);

    message('conversation-1', 'second question');
    expect(await roundTripsUntil(() => requests.length === 2)).toBe(3);
    expect(requests[1]!.messages).toEqual([
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'first answer' },
      { role: 'user', content: 'second question' },
    ]);
  });

  it('sends the first delta at once and the deltas of one tick after it as one chunk, each stored before it is emitted', async () => {
    const { requests, live, message, roundTripsUntil, log } = start();
    const { accepted, answered } = message('conversation-1', 'hello');
    await roundTripsUntil(answered);
    const { message_id: messageId } = await accepted;
    live.relay(messageId)!.release('socket-1');
    requests[0]!.stream.push(delta('zero '));
    await settle();
    await new Promise((resolve) => setTimeout(resolve, CHUNK_INTERVAL_MS));
    requests[0]!.stream.push(delta('one '), delta('two '), delta('three'));
    await settle();
    const chunkKey = aiStoreKeys.chunks('conversation-1', messageId);
    expect(log.slice(-5)).toEqual([
      'emit ai:stream:start',
      `rpush ${chunkKey}`,
      'emit ai:stream:chunk zero ',
      `rpush ${chunkKey}`,
      'emit ai:stream:chunk one two three',
    ]);
  });

  it('emits the end one round trip after the stream ends, with the reply slot freed just before it', async () => {
    const { requests, live, message, roundTripsUntil, log } = start();
    const { accepted, answered } = message('conversation-1', 'hello');
    await roundTripsUntil(answered);
    const { message_id: messageId } = await accepted;
    live.relay(messageId)!.release('socket-1');
    requests[0]!.stream.push(delta('the answer'), ...stop);
    requests[0]!.stream.end();
    expect(await roundTripsUntil(() => log.includes('emit ai:stream:end'))).toBe(1);
    const activeKey = aiStoreKeys.active('conversation-1');
    expect(log.slice(-2)).toEqual([`del ${activeKey}`, 'emit ai:stream:end']);
  });

  it('makes no upstream request, frees the slot and announces nothing when the turn cannot be stored', async () => {
    const messagesKey = aiStoreKeys.messages('conversation-1');
    const { requests, live, conversations, message, roundTripsUntil, log } = start(
      (command) => command === `rpush ${messagesKey}`,
    );
    const { accepted, answered } = message('conversation-1', 'hello');
    const refused = expect(accepted).rejects.toThrow(/refused/);
    await roundTripsUntil(answered);
    await refused;
    expect(requests).toHaveLength(0);
    expect(live.streaming).toBe(0);
    const slot = conversations.activeReply('conversation-1');
    await current.roundTrips.round();
    await expect(slot).resolves.toBeNull();
    expect(log.filter((entry) => entry.startsWith('emit'))).toEqual([]);
  });
});

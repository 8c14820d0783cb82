import { DisposableStore } from '@ctos/protocol';
import { HandoffReport, pendingAfter, type Logger } from '@ctos/runtime';
import type { AnnouncementHandle, Transport } from '@ctos/transport';
import type { Registry } from 'prom-client';
import { aiBusHandler } from './ai-bus-handler';
import type { AiWorkerConfig } from './config';
import { ConversationStore } from './conversation-store';
import { LiveReplies } from './live-replies';
import { MessageIntake } from './message-intake';
import { createAiWorkerMetrics } from './metrics';
import { RateLimiter } from './rate-limiter';
import { createUpstream, type Upstream } from './upstream';

/** What {@link createAiWorker} needs. */
export interface AiWorkerDeps {
  id: string;
  transport: Transport;
  config: AiWorkerConfig;
  logger: Logger;
  metrics: Registry;
  /** The Messages API; default the SDK configured from `config` (none without a key). */
  upstream?: Upstream;
  /**
   * The least time between two chunks of a reply (ms); default `CHUNK_INTERVAL_MS` (see
   * `ReplyOutbox`). 0 sends a chunk whenever none is on its way: tests that race many
   * small chunks.
   */
  chunkIntervalMs?: number;
}

/** A running ai-worker. */
export interface AiWorker {
  readonly id: string;
  /** Replies streaming now. */
  readonly activeReplies: number;
  /** Starts answering gateways over the bus and heartbeating. */
  start(): void;
  /**
   * Stops taking messages and leaves the registry; replies in flight may finish within
   * `AI_DRAIN_GRACE_MS`, then the rest are stopped and marked interrupted (retryable).
   */
  drain(): Promise<void>;
}

/**
 * The ai-worker: owns AI replies. Gateways reach it with `AiBusMessage`s (see
 * @ctos/protocol): it stores each user message, streams the reply from the Messages API
 * into the conversation's room (`ai:stream:start`, `ai:stream:chunk`, then
 * `ai:stream:end` or `ai:error`), stores the chunks as they go so any gateway can replay
 * them, and stores how each reply ended. Conversations live in the transport's store,
 * so any ai-worker serves any conversation; one reply at a time per conversation.
 *
 * Errors it answers: `INVALID_PAYLOAD` (a malformed bus message), `NOT_FOUND` (another
 * user's conversation, or an unknown one outside `message`), `RATE_LIMITED`
 * (`AI_MESSAGES_PER_MINUTE`), `LIMIT_EXCEEDED` (a reply is already being written in the
 * conversation: refused, not queued — a queued message would start a reply the user
 * may no longer want, and the client knows best when to send again), `UNAVAILABLE`
 * (draining or full). Failures after a reply started reach its room as `ai:error`.
 */
export function createAiWorker(deps: AiWorkerDeps): AiWorker {
  const { transport, config, id } = deps;
  const logger = deps.logger.child({ worker: id });
  const upstream = 'upstream' in deps ? deps.upstream : createUpstream(config, logger);
  const conversations = new ConversationStore(transport.store);
  // What the worker owns, released by drain() one after the other: its place in the
  // registry, then the replies and relays in flight.
  const registration = new DisposableStore();
  const handoff = new HandoffReport();
  /** The death deadline (ms): the longest a drain waits on Redis for one step. */
  const deadlineMs = config.HEARTBEAT_INTERVAL_MS * config.HEARTBEAT_MISSED_BEATS;
  const live = new LiveReplies(config.AI_DRAIN_GRACE_MS, handoff, deadlineMs);
  const metrics = createAiWorkerMetrics(deps.metrics, () => live.streaming);
  let announcement: AnnouncementHandle | undefined;
  let draining = false;
  const intake = new MessageIntake({
    worker: id,
    config,
    upstream,
    conversations,
    rate: new RateLimiter(transport.store, config.AI_MESSAGES_PER_MINUTE),
    live,
    emitter: transport.emitter,
    metrics,
    logger,
    isDraining: () => draining,
    touch: () => announcement?.touch(),
    ...(deps.chunkIntervalMs === undefined ? {} : { chunkIntervalMs: deps.chunkIntervalMs }),
  });
  const handle = aiBusHandler({ conversations, live, intake, healthy: () => transport.healthy(), logger });

  return {
    id,
    get activeReplies() {
      return live.streaming;
    },
    start() {
      // The transport owns the inbox: `Bus` cannot stop serving, and a drained worker
      // still answers (`resume` says gone, `replay` reads the store) until it is disposed.
      transport.bus.serve(handle);
      announcement = registration.add(
        transport.registry.announce({
          id,
          kind: 'ai',
          capacity: config.AI_WORKER_CAPACITY,
          load: () => live.streaming,
          onRejoined: (reason) => {
            // Declared dead: a gateway has marked these replies interrupted and told their
            // rooms; stop them for real rather than stream on past the error.
            if (reason !== 'declared-dead') return;
            logger.warn({ replies: live.streaming }, 'this worker was declared dead while alive; stopping its replies');
            live.stopAll();
          },
        }),
      );
      if (!upstream) {
        logger.warn(
          'ANTHROPIC_API_KEY is not set: every ai:message is answered UNAVAILABLE until it is set and the ai-worker restarted',
        );
      }
      logger.info(
        { capacity: config.AI_WORKER_CAPACITY, model: config.AI_MODEL, configured: upstream !== undefined },
        'ai worker started',
      );
    },
    async drain() {
      draining = true;
      handoff.begin();
      // Leave the registry (gateways place no new message here; meanwhile messages are
      // refused as draining), and let the messages already past admission start their
      // replies, so the stop below includes them. Each wait on Redis is bounded by the death
      // deadline, so a paused Redis cannot hold the drain past its cap.
      await Promise.all([registration.dispose(), pendingAfter(new Map([['intake', intake.settled()]]), deadlineMs)]);
      await live.dispose();
      handoff.log(logger);
      logger.info('ai worker drained');
    },
  };
}

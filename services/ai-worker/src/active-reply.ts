import { DisposableStore, type AiStopReason, type AiUsage, type Disposable } from '@ctos/protocol';
import type { Logger } from '@ctos/runtime';
import type { ContextTurn } from './conversation-reader';
import type { ConversationStore, ReplyOutcome } from './conversation-store';
import type { AiWorkerMetrics } from './metrics';
import { ownedTimeout } from './owned-timeout';
import type { ReplyRelay, Terminal } from './reply-relay';
import type { Upstream, UpstreamEvent } from './upstream';
import { classifyUpstreamError, type ReplyFailure } from './upstream-errors';

/** Why a reply was stopped from our side. */
export type StopCause = 'cancel' | 'idle' | 'max' | 'shutdown';

/** The API's stop reasons we pass on as they are; anything newer reads as `end_turn`. */
const API_STOP_REASONS: ReadonlySet<string> = new Set<AiStopReason>([
  'end_turn',
  'max_tokens',
  'stop_sequence',
  'tool_use',
  'pause_turn',
  'refusal',
]);

/** What one {@link ActiveReply} needs. */
export interface ActiveReplyDeps {
  user: string;
  worker: string;
  upstream: Upstream;
  relay: ReplyRelay;
  store: ConversationStore;
  /** Abort after this long without a content event (ms). */
  idleMs: number;
  /** Abort after this long in all (ms). */
  maxMs: number;
  logger: Logger;
  metrics: AiWorkerMetrics;
}

type Outcome =
  | { kind: 'complete'; stopReason: AiStopReason }
  | { kind: 'cancelled' }
  | { kind: 'failed'; failure: Omit<ReplyFailure, 'upstream'> };

/**
 * One reply being written: the upstream request (aborted for cancel, the idle limit,
 * the overall cap or shutdown — P14, P15), its deltas handed to the relay, and how it
 * ended stored and announced (the outcome and a check of the reply slot in one round
 * trip, the slot freed just ahead of the end). {@link run} never rejects. Disposing it
 * stops it as for a shutdown.
 */
export class ActiveReply implements Disposable {
  private readonly controller = new AbortController();
  private cause: StopCause | undefined;
  private readonly usage: AiUsage = { input_tokens: 0, output_tokens: 0 };
  private stopReason: AiStopReason = 'end_turn';
  private readonly startedAt = performance.now();
  private firstChunkSeen = false;

  constructor(private readonly deps: ActiveReplyDeps) {}

  get conversationId(): string {
    return this.deps.relay.conversationId;
  }

  get messageId(): string {
    return this.deps.relay.messageId;
  }

  get user(): string {
    return this.deps.user;
  }

  /**
   * Aborts the upstream request for `cause`; the first cause wins and later calls are
   * no-ops (a repeated `ai:cancel`). The abort closes the HTTP connection at once.
   */
  stop(cause: StopCause): void {
    if (this.cause) return;
    this.cause = cause;
    this.controller.abort();
  }

  /** {@link stop} for `shutdown`: the client is told UNAVAILABLE, retryable. */
  dispose(): void {
    this.stop('shutdown');
  }

  /** Streams the reply to `messages` and ends it; resolves once its end has been emitted. */
  async run(messages: ContextTurn[]): Promise<void> {
    const { idleMs, maxMs } = this.deps;
    // The limits' timers, cleared as soon as the stream is over.
    const timers = new DisposableStore();
    ownedTimeout(timers, maxMs, () => this.stop('max'));
    let outcome: Outcome;
    let sawStop = false;
    try {
      const stream = await this.deps.upstream.open(messages, this.controller.signal);
      // From the headers on, silence is measured; before them the SDK's timeout and retries rule.
      const idleTimer = ownedTimeout(timers, idleMs, () => this.stop('idle'));
      for await (const event of stream) {
        idleTimer.refresh();
        if (this.onEvent(event)) sawStop = true;
      }
      outcome = sawStop ? { kind: 'complete', stopReason: this.stopReason } : this.stopped();
    } catch (error) {
      outcome = this.cause ? this.stopped() : this.failed(classifyUpstreamError(error));
    } finally {
      void timers.dispose();
    }
    await this.end(outcome);
  }

  /** Handles one stream event; true for `message_stop`. */
  private onEvent(event: UpstreamEvent): boolean {
    switch (event.type) {
      case 'content_block_delta':
        if (event.delta.type === 'text_delta') {
          if (!this.firstChunkSeen) {
            this.firstChunkSeen = true;
            this.deps.metrics.firstChunk.observe((performance.now() - this.startedAt) / 1000);
          }
          this.deps.relay.add(event.delta.text);
        }
        return false;
      case 'message_start':
        this.usage.input_tokens = event.message.usage.input_tokens;
        this.usage.output_tokens = event.message.usage.output_tokens;
        return false;
      case 'message_delta':
        if (event.delta.stop_reason) {
          this.stopReason = API_STOP_REASONS.has(event.delta.stop_reason)
            ? (event.delta.stop_reason as AiStopReason)
            : 'end_turn';
        }
        this.usage.output_tokens = event.usage.output_tokens;
        if (typeof event.usage.input_tokens === 'number') this.usage.input_tokens = event.usage.input_tokens;
        return false;
      case 'message_stop':
        return true;
      default:
        return false;
    }
  }

  /** The outcome when the stream ended without `message_stop`: our abort, or a cut-off. */
  private stopped(): Outcome {
    const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
    switch (this.cause) {
      case 'cancel':
        return { kind: 'cancelled' };
      case 'idle':
        return this.failed({
          code: 'UPSTREAM_ERROR',
          error: `The AI service stopped sending for ${seconds(this.deps.idleMs)}, so the reply was stopped; what was written so far is kept. Try again.`,
          retryable: true,
          upstream: { message: 'stream idle limit reached' },
        });
      case 'max':
        return this.failed({
          code: 'UPSTREAM_ERROR',
          error: `The reply took longer than ${seconds(this.deps.maxMs)} and was stopped; what was written so far is kept.`,
          retryable: true,
          upstream: { message: 'stream time cap reached' },
        });
      case 'shutdown':
        return this.failed({
          code: 'UNAVAILABLE',
          error: 'The assistant restarted in the middle of this reply; what was written so far is kept. Send again.',
          retryable: true,
          upstream: {},
        });
      case undefined:
        return this.failed({
          code: 'UPSTREAM_ERROR',
          error: 'The AI service ended the reply early; what was written so far is kept. Try again.',
          retryable: true,
          upstream: { message: 'stream ended without message_stop' },
        });
    }
  }

  private failed(failure: ReplyFailure): Outcome {
    const { upstream, operator, ...told } = failure;
    const log = {
      code: told.code,
      upstream_status: upstream.status,
      upstream_type: upstream.type,
      request_id: upstream.request_id,
      upstream_message: upstream.message,
    };
    if (operator) this.deps.logger.error(log, `reply failed: ${operator}`);
    else this.deps.logger.warn(log, 'reply failed');
    return { kind: 'failed', failure: told };
  }

  /** Stores and announces the outcome; resolves when the terminal event is out. */
  private async end(outcome: Outcome): Promise<void> {
    const { relay, store, metrics } = this.deps;
    const ids = { conversation_id: this.conversationId, message_id: this.messageId };
    let terminal: Terminal;
    let stored: Omit<ReplyOutcome, 'content'>;
    const usage = { input_tokens: String(this.usage.input_tokens), output_tokens: String(this.usage.output_tokens) };
    if (outcome.kind === 'failed') {
      const { code, error, retryable } = outcome.failure;
      terminal = { event: 'ai:error', payload: { ...ids, code, error, retryable } };
      stored = {
        status: 'interrupted',
        stop_reason: 'interrupted',
        ...usage,
        error_code: code,
        error,
        retryable: String(retryable),
      };
      metrics.failures.inc({ code });
      metrics.replies.inc({ outcome: 'interrupted' });
    } else {
      const stopReason = outcome.kind === 'cancelled' ? 'cancelled' : outcome.stopReason;
      terminal = { event: 'ai:stream:end', payload: { ...ids, stop_reason: stopReason, usage: { ...this.usage } } };
      stored = { status: outcome.kind === 'cancelled' ? 'cancelled' : 'complete', stop_reason: stopReason, ...usage };
      metrics.replies.inc({ outcome: stored.status });
    }
    await relay.end(terminal, async (content) => {
      const holdsSlot = await store.endReply(this.conversationId, this.messageId, this.user, this.deps.worker, {
        ...stored,
        content,
      });
      if (!holdsSlot) return undefined;
      // Freed before the end is announced, so a client that hears it can send the next
      // message: the relay sends this just ahead of the terminal event (see FinalWrite).
      return {
        now: () => store.freeReplySlot(this.conversationId),
        again: () => store.unlockReply(this.conversationId, this.messageId),
      };
    });
    this.deps.logger.info({ outcome: outcome.kind, stop_reason: stored.stop_reason, ...this.usage }, 'reply ended');
  }
}

import { DisposableStore, type Disposable } from '@ctos/protocol';
import type { ActiveReply } from './active-reply';
import type { ContextTurn } from './conversation-reader';
import { pendingAfter, type HandoffReport } from '@ctos/runtime';
import { ownedTimeout } from './owned-timeout';
import type { ReplyRelay } from './reply-relay';

/**
 * The owner of what an ai-worker is writing, by message id: its replies while they stream,
 * and every relay with events still to emit (replies, and refusals waiting for their
 * gateway). Each leaves on its own when it ends; {@link dispose} is the stop of a drain.
 * Keyed rather than a {@link DisposableStore}, because entries come and go for the whole
 * life of the worker and gateways look them up (`release`, `cancel`, `resume`).
 */
export class LiveReplies implements Disposable {
  private readonly replies = new Map<string, ActiveReply>();
  private readonly relays = new Map<string, ReplyRelay>();
  /** Set once a drain stops the replies: any added later is stopped as it comes. */
  private stopping = false;

  /**
   * @param graceMs How long (ms) a drain lets the replies in flight finish before it stops them.
   * @param report Where {@link dispose} names the replies whose end Redis did not take (`reply`: message ids).
   * @param handoffMs How long (ms) {@link dispose} waits for the stopped replies' last events
   * and writes (the death deadline: past it, gateways end them as lost anyway).
   */
  constructor(
    private readonly graceMs: number,
    private readonly report?: HandoffReport,
    private readonly handoffMs = Infinity,
  ) {}

  /** Replies streaming now: the load this worker heartbeats. */
  get streaming(): number {
    return this.replies.size;
  }

  /** The reply streaming under `messageId`, if any. */
  reply(messageId: string): ActiveReply | undefined {
    return this.replies.get(messageId);
  }

  /** The relay of `messageId` while it has events to emit, if any. */
  relay(messageId: string): ReplyRelay | undefined {
    return this.relays.get(messageId);
  }

  /** Owns `relay` until its terminal event has been emitted; returns it. */
  addRelay(relay: ReplyRelay): ReplyRelay {
    this.relays.set(relay.messageId, relay);
    void relay.done.then(() => this.relays.delete(relay.messageId));
    return relay;
  }

  /**
   * Owns `reply` from now: it counts as load before {@link run} starts it. After
   * {@link dispose} began, the reply is stopped at once (interrupted, retryable).
   */
  addReply(reply: ActiveReply): void {
    this.replies.set(reply.messageId, reply);
    if (this.stopping) reply.dispose();
  }

  /** Runs an added `reply` on `context`; resolves once it has ended and is no longer owned. Never rejects. */
  async run(reply: ActiveReply, context: ContextTurn[]): Promise<void> {
    await reply.run(context);
    this.replies.delete(reply.messageId);
  }

  /** Stops every reply streaming here, as for a shutdown (interrupted, retryable). */
  stopAll(): void {
    for (const reply of this.replies.values()) reply.dispose();
  }

  /**
   * The stop of a drain, in order: lets the replies in flight finish within the grace,
   * stops the rest ({@link stopAll}), lets every held event out, and resolves once every
   * terminal event has been emitted or given up on (Redis unreachable: reported).
   */
  async dispose(): Promise<void> {
    if (this.replies.size > 0) await this.endedWithin(this.graceMs);
    this.stopping = true;
    this.stopAll();
    // No gateway will release a hold now; what is held goes out so its room hears the end.
    const relays = [...this.relays.values()];
    for (const relay of relays) relay.releaseAll();
    // A refused emit or write is given up at once; one Redis never answers (paused) is
    // waited for `handoffMs` at most.
    const late = await pendingAfter(new Map(relays.map((relay) => [relay, relay.done])), this.handoffMs);
    for (const relay of relays)
      if (late.includes(relay) || !relay.handedOff) this.report?.add('reply', relay.messageId);
  }

  /**
   * True once {@link dispose} stops the replies: a relay then gives up an emit or a write
   * Redis refuses instead of retrying, and {@link dispose} reports it.
   */
  get stopped(): boolean {
    return this.stopping;
  }

  /** Settles once every relay owned now has emitted its terminal event. */
  private async ended(): Promise<void> {
    await Promise.all([...this.relays.values()].map((relay) => relay.done));
  }

  /** {@link ended}, waiting `ms` at most. */
  private async endedWithin(ms: number): Promise<void> {
    const timers = new DisposableStore();
    const grace = new Promise<void>((resolve) => ownedTimeout(timers, ms, resolve));
    await Promise.race([this.ended(), grace]);
    void timers.dispose();
  }
}

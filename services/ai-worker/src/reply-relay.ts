import type { AiChunkRange, AiErrorEvent, AiStreamEndEvent } from '@ctos/protocol';
import type { ServerPayload } from '@ctos/transport';

/** The room events of one reply. */
export type ReplyEvent = 'ai:stream:start' | 'ai:stream:chunk' | 'ai:stream:end' | 'ai:error';

/** The event that ends a reply: exactly one per reply. */
export type Terminal =
  { event: 'ai:stream:end'; payload: AiStreamEndEvent } | { event: 'ai:error'; payload: AiErrorEvent };

/** Where a relay's output goes. */
export interface RelaySink {
  /** Emits into the conversation's room; settles when handed to the transport, never rejects. */
  emit<E extends ReplyEvent>(event: E, payload: ServerPayload<E>): Promise<void>;
  /** Appends a chunk to the stored reply; its position in the store is its index. */
  storeChunk(chunk: string): Promise<void>;
  /** A chunk could not be stored (the live stream goes on; the log says so). */
  onStoreError(error: unknown): void;
}

/**
 * Puts one reply on the wire, in order: `start`, chunks numbered from 0, then its
 * terminal event. Each chunk is stored as it is numbered, so any gateway can replay it.
 *
 * - Relay overhead: a delta goes out at once when nothing is in flight; deltas that
 *   arrive while an emit is in flight are joined into the next chunk. Under a fast
 *   stream a chunk therefore waits at most one emit (one Redis round trip), and nothing
 *   waits before the first.
 * - Holds: while held, nothing is emitted (deltas keep arriving and are kept). A reply
 *   starts held until its gateway has acknowledged and joined the room; `ai:resume`
 *   holds it while a gateway sends the chunks it missed and joins. A hold lapses after
 *   `holdTimeoutMs` (its gateway died).
 * - The terminal event goes out only after `persist` has stored how the reply ended, so
 *   a client that hears the end and reads the history finds it there.
 */
export class ReplyRelay {
  /** Every numbered chunk; `chunks[i]` has index i. */
  private readonly chunks: string[] = [];
  /** How many of {@link chunks} have been emitted. */
  private sent = 0;
  private pending = '';
  private holds = 0;
  private holdTimer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private startQueued = false;
  private terminal: Terminal | undefined;
  private terminalReady = false;
  private terminalSent = false;
  private readonly storing = new Set<Promise<void>>();
  private quietWaiters: Array<() => void> = [];
  private resolveDone!: () => void;
  /** Settles once the terminal event has been emitted. */
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  constructor(
    readonly conversationId: string,
    readonly messageId: string,
    readonly user: string,
    private readonly sink: RelaySink,
    private readonly holdTimeoutMs: number,
  ) {}

  /** Everything the reply has said so far, numbered or not. */
  get text(): string {
    return this.chunks.join('') + this.pending;
  }

  /** True once the terminal event has been emitted (or is being emitted). */
  get ended(): boolean {
    return this.terminalSent;
  }

  /** Queues `ai:stream:start`. */
  start(): void {
    this.startQueued = true;
    this.pump();
  }

  /** Adds a text delta. Ignored once the reply is ending. */
  add(delta: string): void {
    if (this.terminal || delta === '') return;
    this.pending += delta;
    this.pump();
  }

  /** Holds output until {@link release} (or the hold timeout). */
  hold(): void {
    this.holds++;
    this.holdTimer ??= setTimeout(() => {
      this.holdTimer = undefined;
      this.holds = 0;
      this.pump();
    }, this.holdTimeoutMs);
  }

  /** Ends one hold; output flows again when none is left. */
  release(): void {
    if (this.holds === 0) return;
    this.holds--;
    if (this.holds === 0) this.clearHoldTimer();
    this.pump();
  }

  /** Drops every hold at once (shutdown: no gateway will release them). */
  releaseAll(): void {
    this.holds = 0;
    this.clearHoldTimer();
    this.pump();
  }

  /**
   * For `ai:resume`: holds output, waits until no emit is in flight, and returns the
   * chunks emitted so far after `since`. Everything after them reaches the room after
   * the matching {@link release}, so a socket that joins the room in between sees each
   * chunk once. Null (and no hold) when the reply has already ended.
   */
  async holdForResume(since: number): Promise<AiChunkRange | null> {
    this.hold();
    await this.quiet();
    if (this.terminalSent) {
      this.release();
      return null;
    }
    const first = Math.max(0, since + 1);
    return { first_index: first, chunks: this.chunks.slice(first, this.sent), last_index: this.sent - 1 };
  }

  /**
   * Ends the reply: the text so far becomes the last chunk, `persist` stores the
   * outcome (with the whole text) once every chunk is stored, then `terminal` is
   * emitted. Resolves when it has been emitted. Only the first call counts.
   */
  end(terminal: Terminal, persist: (content: string) => Promise<void>): Promise<void> {
    if (this.terminal) return this.done;
    this.terminal = terminal;
    if (this.pending !== '') this.number();
    const content = this.chunks.join('');
    void Promise.all(this.storing)
      .then(() => persist(content))
      .catch((error: unknown) => this.sink.onStoreError(error))
      .then(() => {
        this.terminalReady = true;
        this.pump();
      });
    return this.done;
  }

  /** Gives the pending text the next index and stores it. */
  private number(): void {
    const chunk = this.pending;
    this.pending = '';
    this.chunks.push(chunk);
    const stored = this.sink.storeChunk(chunk).catch((error: unknown) => this.sink.onStoreError(error));
    this.storing.add(stored);
    void stored.then(() => this.storing.delete(stored));
  }

  private pump(): void {
    if (this.holds > 0 || this.inFlight) return;
    let sending: Promise<void>;
    if (this.startQueued) {
      this.startQueued = false;
      sending = this.sink.emit('ai:stream:start', { conversation_id: this.conversationId, message_id: this.messageId });
    } else if (this.sent < this.chunks.length || this.pending !== '') {
      if (this.sent === this.chunks.length) this.number();
      const index = this.sent++;
      sending = this.sink.emit('ai:stream:chunk', {
        conversation_id: this.conversationId,
        message_id: this.messageId,
        chunk: this.chunks[index]!,
        index,
      });
    } else if (this.terminal && this.terminalReady && !this.terminalSent) {
      this.terminalSent = true;
      this.clearHoldTimer();
      const { event, payload } = this.terminal;
      sending =
        event === 'ai:stream:end' ? this.sink.emit('ai:stream:end', payload) : this.sink.emit('ai:error', payload);
      void sending.then(this.resolveDone, this.resolveDone);
    } else {
      return;
    }
    this.inFlight = true;
    const settled = (): void => {
      this.inFlight = false;
      const waiters = this.quietWaiters;
      this.quietWaiters = [];
      for (const wake of waiters) wake();
      this.pump();
    };
    sending.then(settled, settled);
  }

  /** Resolves when no emit is in flight. */
  private quiet(): Promise<void> {
    if (!this.inFlight) return Promise.resolve();
    return new Promise((resolve) => this.quietWaiters.push(resolve));
  }

  private clearHoldTimer(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
  }
}

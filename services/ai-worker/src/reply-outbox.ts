import { MAX_ATTEMPTS, RETRY_MS } from './relay-retry';

/**
 * The least time between two chunks of a streaming reply (ms), after the first (which
 * goes at once) and before the last (which goes with the end): about one frame of a 60 Hz
 * display, which cannot show text sooner. Every chunk costs a store append and a publish,
 * and each gateway, nginx and client pays for it too; on a busy machine a chunk per
 * delta slows the very stream it relays. Measured with 1,000 deltas from the local
 * stand-in (docs/benchmarks.md, figure 5). The API sends a delta every few tens of ms,
 * so a real reply is rarely held back at all.
 */
export const CHUNK_INTERVAL_MS = 16;

/** One event in a reply's outbox. */
export type Outgoing = { kind: 'start' } | { kind: 'chunk'; index: number } | { kind: 'terminal' };

/** What a {@link ReplyOutbox} asks of the relay it belongs to. */
export interface OutboxHooks {
  /** True while a socket holds the reply: nothing is cut or sent. */
  held(): boolean;
  /** Chunk `index` was just numbered: its store append goes now, ahead of its emit. */
  numbered(index: number, chunk: string): void;
  /** Whether chunk `index` may be emitted now (not before it is stored, while writes are retried). */
  mayEmit(index: number): boolean;
  /**
   * Emits one event into the room; settles when handed to the transport, never rejects.
   * `false`: the transport could not take it; it is sent again, with every event after it.
   */
  send(entry: Outgoing): Promise<boolean | void>;
  /** True once retrying is pointless: a refused emit is then given up at once. */
  giveUp(): boolean;
  /** An emit was given up on: the relay ends where it stands (and calls {@link ReplyOutbox.stop}). */
  abandon(): void;
  /** The terminal event has been handed over and nothing is left to retry. */
  finished(): void;
}

/**
 * The outgoing side of one reply: numbers its text into chunks, paced, and hands the
 * room's events to the emitter in order — `start`, chunks numbered from 0, then the
 * terminal event.
 *
 * - Pacing: the first delta goes out at once; the deltas that arrive in one turn of the
 *   event loop after it become one chunk, cut at the end of that turn. A chunk is cut only
 *   when the last one's emit has settled and `chunkIntervalMs` has passed, and what comes
 *   meanwhile is joined into it, so a fast stream costs a few emits, not one per delta.
 *   {@link flush} takes the rest at once.
 * - In flight: emits do not wait for each other: `start`, a chunk and the end go out one
 *   behind the other on the emitter's connection, which keeps their order.
 * - Refusals: a refused emit is sent again `RETRY_MS` later, with every event after it
 *   (a client drops an index it has); after `MAX_ATTEMPTS` refusals in a row it counts
 *   as sent (a client that missed it resumes from the store).
 */
export class ReplyOutbox {
  /** Every numbered chunk; `numberedChunks[i]` has index i. */
  private readonly numberedChunks: string[] = [];
  /** Text not yet numbered. */
  private pending = '';
  /** The room's events in order: `start`, the chunks by index, then the terminal event. */
  private readonly events: Outgoing[] = [];
  /** Entries of {@link events} before this one have been handed to the emitter. */
  private next = 0;
  /** Emits handed to the emitter and not settled yet. */
  private inFlight = 0;
  /** Chunk emits among {@link inFlight}: the next chunk is cut once there are none. */
  private chunksInFlight = 0;
  /** The first position refused in the emits now settling: sent again from there. */
  private refusedAt: number | undefined;
  /** The position being retried, and its refusals in a row. */
  private retrying = { at: -1, attempts: 0 };
  private retryTimer: NodeJS.Timeout | undefined;
  /** The pump at the end of this turn of the event loop, once a delta or an emit came in. */
  private pumpSoon: NodeJS.Immediate | undefined;
  /** When the last chunk was cut while streaming (`performance.now()`), for `chunkIntervalMs`. */
  private lastCut = -Infinity;
  /** Cuts the next chunk once `chunkIntervalMs` has passed since the last. */
  private paceTimer: NodeJS.Timeout | undefined;
  private quietWaiters: Array<() => void> = [];
  /** Set by {@link stop}: nothing more is sent. */
  private stopped = false;

  constructor(
    private readonly hooks: OutboxHooks,
    /** The least time between two chunks (ms); 0 cuts one whenever none is on its way. */
    private readonly chunkIntervalMs: number,
  ) {}

  /** Every numbered chunk; `chunks[i]` has index i. */
  get chunks(): readonly string[] {
    return this.numberedChunks;
  }

  /** Everything the reply has said so far, numbered or not. */
  get text(): string {
    return this.numberedChunks.join('') + this.pending;
  }

  /** True once the terminal event has been handed to the emitter (or the outbox was stopped). */
  get ended(): boolean {
    return this.stopped || (this.next > 0 && this.events[this.next - 1]?.kind === 'terminal');
  }

  /** Queues `start` or the terminal event (chunks come from {@link add}) and sends what may go. */
  enqueue(entry: Exclude<Outgoing, { kind: 'chunk' }>): void {
    this.events.push(entry);
    this.pump();
  }

  /**
   * Adds a text delta. The first goes out at once (nothing is faster than the first
   * token); later ones at the end of this turn of the event loop, joined with the
   * deltas that come in it.
   */
  add(delta: string): void {
    this.pending += delta;
    if (this.numberedChunks.length === 0) this.pump();
    else this.schedule();
  }

  /**
   * Stops pacing and makes the text not yet numbered the last chunk, sent now without
   * waiting for the one on its way: the reply is ending.
   */
  flush(): void {
    this.stopPacing();
    if (this.pending !== '') this.number();
    this.pump();
  }

  /** Cuts the pending text into a chunk when it may, and hands every event that may go now to the emitter. */
  pump(): void {
    if (this.stopped || this.hooks.held() || this.retryTimer || this.refusedAt !== undefined) return;
    // One chunk on its way at a time: what comes meanwhile is joined into the next.
    if (
      this.pending !== '' &&
      this.chunksInFlight === 0 &&
      this.chunksSent() === this.numberedChunks.length &&
      this.paced()
    ) {
      this.lastCut = performance.now();
      this.number();
    }
    while (this.next < this.events.length) {
      const position = this.next;
      const entry = this.events[position]!;
      if (entry.kind === 'chunk' && !this.hooks.mayEmit(entry.index)) return;
      this.next++;
      this.send(entry, position);
    }
  }

  /** How many chunks, from index 0, have been handed to the emitter. */
  chunksSent(): number {
    for (let i = this.next - 1; i >= 0; i--) {
      const entry = this.events[i]!;
      if (entry.kind === 'chunk') return entry.index + 1;
    }
    return 0;
  }

  /** Resolves when no emit is in flight (at once after the outbox was stopped). */
  quiet(): Promise<void> {
    if (this.inFlight === 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.quietWaiters.push(resolve));
  }

  /** Stops where it stands, the rest unsent, and lets {@link quiet} waiters go: the drain gave up on Redis. */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.stopPacing();
    this.wakeQuietWaiters();
  }

  /** Gives the pending text the next index; the relay stores it before its emit can go. */
  private number(): void {
    const chunk = this.pending;
    const index = this.numberedChunks.length;
    this.pending = '';
    this.numberedChunks.push(chunk);
    this.events.push({ kind: 'chunk', index });
    this.hooks.numbered(index, chunk);
  }

  /** A {@link pump} at the end of this turn of the event loop, so the deltas that came in it go as one chunk. */
  private schedule(): void {
    if (this.pumpSoon || this.stopped) return;
    this.pumpSoon = setImmediate(() => {
      this.pumpSoon = undefined;
      this.pump();
    });
  }

  /**
   * True when a chunk may be cut now (`chunkIntervalMs` since the last); else the
   * pump runs again when it may.
   */
  private paced(): boolean {
    const wait = this.lastCut + this.chunkIntervalMs - performance.now();
    if (wait <= 0) return true;
    this.paceTimer ??= setTimeout(() => {
      this.paceTimer = undefined;
      this.pump();
    }, wait);
    return false;
  }

  private stopPacing(): void {
    if (this.paceTimer) clearTimeout(this.paceTimer);
    this.paceTimer = undefined;
  }

  /** Hands one event to the emitter. */
  private send(entry: Outgoing, position: number): void {
    if (entry.kind === 'chunk') this.chunksInFlight++;
    const sending = this.hooks.send(entry);
    this.inFlight++;
    sending.then(
      (sent) => this.settled(entry, position, sent),
      () => this.settled(entry, position, false),
    );
  }

  private settled(entry: Outgoing, position: number, sent: boolean | void): void {
    if (this.stopped) return;
    this.inFlight--;
    if (entry.kind === 'chunk') this.chunksInFlight--;
    if (sent === false) {
      if (this.hooks.giveUp()) {
        this.hooks.abandon();
        return;
      }
      this.refusedAt = Math.min(this.refusedAt ?? position, position);
    }
    if (this.inFlight > 0) {
      // Another chunk may be cut now; a refusal waits for the rest of the round.
      if (this.refusedAt === undefined) this.schedule();
      return;
    }
    if (this.refusedAt !== undefined) this.retryFrom(this.refusedAt);
    else if (this.ended) this.hooks.finished();
    else this.schedule();
    this.wakeQuietWaiters();
  }

  /**
   * After a refusal, sends everything again from `position`, `RETRY_MS` later; after
   * `MAX_ATTEMPTS` refusals in a row the event there counts as sent (a client that
   * missed it resumes from the store), so a reply cannot hang for ever.
   */
  private retryFrom(position: number): void {
    this.refusedAt = undefined;
    this.retrying =
      this.retrying.at === position
        ? { at: position, attempts: this.retrying.attempts + 1 }
        : { at: position, attempts: 1 };
    if (this.retrying.attempts < MAX_ATTEMPTS) {
      this.next = position;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, RETRY_MS);
      return;
    }
    this.retrying = { at: -1, attempts: 0 };
    this.next = position + 1;
    if (this.ended) this.hooks.finished();
    else this.pump();
  }

  private wakeQuietWaiters(): void {
    const waiters = this.quietWaiters;
    this.quietWaiters = [];
    for (const wake of waiters) wake();
  }
}

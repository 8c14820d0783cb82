import type { AiChunkRange, AiErrorEvent, AiStreamEndEvent } from '@ctos/protocol';
import { LapsingHold } from '@ctos/runtime';
import type { ServerPayload } from '@ctos/transport';

/**
 * The holder of holds by gateways that name none (from before the bus named the socket):
 * their holds are counted together, as one, and lapse together.
 */
export const UNNAMED_HOLDER = '';

/** The room events of one reply. */
export type ReplyEvent = 'ai:stream:start' | 'ai:stream:chunk' | 'ai:stream:end' | 'ai:error';

/** The event that ends a reply: exactly one per reply. */
export type Terminal =
  { event: 'ai:stream:end'; payload: AiStreamEndEvent } | { event: 'ai:error'; payload: AiErrorEvent };

/**
 * A write that must reach the store before the terminal event reaches anyone (freeing
 * the conversation's reply slot). {@link ReplyRelay} sends it just ahead of the event:
 * the store and the emitter share one connection to Redis, which applies commands in
 * the order they came, so the write is applied first without a round trip of its own.
 */
export interface FinalWrite {
  /** The write, sent right before the terminal event. */
  now(): Promise<void>;
  /** Its retry after {@link now} failed (it may have landed or not): safe to run either way. */
  again(): Promise<void>;
}

/**
 * Stores how a reply ended, given its whole text; resolves with the write to send just
 * ahead of the terminal event, if there is one. Written again on failure: idempotent.
 */
export type Persist = (content: string) => Promise<FinalWrite | undefined>;

/** One event in a relay's outbox. */
type Outgoing = { kind: 'start' } | { kind: 'chunk'; index: number } | { kind: 'terminal' };

/** Where a relay's output goes. */
export interface RelaySink {
  /**
   * Emits into the conversation's room; settles when handed to the transport, never
   * rejects. `false`: the transport could not take it (Redis unreachable); it is sent again.
   */
  emit<E extends ReplyEvent>(event: E, payload: ServerPayload<E>): Promise<boolean | void>;
  /** Appends the next chunk to the stored reply; its position in the store is its index. */
  appendChunk(chunk: string): Promise<void>;
  /** Stores chunk `index` unless the store has it already: the retry of an append that failed. */
  storeChunkAt(index: number, chunk: string): Promise<void>;
  /** A store write failed; it is tried again (the log says so once per reply). */
  onStoreError(error: unknown): void;
  /**
   * True once retrying is pointless (the worker's drain is stopping its replies): a
   * failed emit or write is then given up at once, and the relay ends without it (see
   * {@link ReplyRelay.handedOff}).
   */
  giveUp(): boolean;
}

/**
 * How long a refused emit or a failed store write waits before it is tried again (ms).
 * Meanwhile the reply's later events wait, so what reaches the room and the store stays
 * whole and in order across a Redis outage.
 */
const RETRY_MS = 250;
/**
 * Attempts before the relay gives up on one emit or write (about a minute): then the
 * emit counts as sent (a client that missed it resumes from the store) and the write as
 * lost (logged), so a reply cannot hang for ever on a Redis that does not come back.
 */
const MAX_ATTEMPTS = 240;
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

/**
 * Runs `write` until it succeeds, `RETRY_MS` apart, at most `MAX_ATTEMPTS` times, or
 * until a failure finds `sink.giveUp()` true. Resolves true when it was written.
 */
async function persistently(write: () => Promise<void>, sink: RelaySink, reported = false): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return true;
    } catch (error) {
      // Given up by the drain: the drain reports it, once, with the others.
      if (sink.giveUp()) return false;
      if ((attempt === 1 && !reported) || attempt === MAX_ATTEMPTS) sink.onStoreError(error);
      if (attempt === MAX_ATTEMPTS) return false;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

/**
 * Puts one reply on the wire, in order: `start`, chunks numbered from 0, then its
 * terminal event. Each chunk is stored as it is numbered, so any gateway can replay it.
 *
 * - Relay overhead: the first delta goes out at once; the deltas that arrive in one turn
 *   of the event loop after it become one chunk, cut at the end of that turn. A chunk is cut
 *   only when the last one's emit has settled and `chunkIntervalMs` has passed,
 *   and what comes meanwhile is joined into it, so a fast stream costs a few emits, not
 *   one per delta. The end takes the rest at once. Emits do not wait for each other:
 *   `start`, a chunk and the end go out one behind the other on the emitter's
 *   connection, which keeps their order.
 * - Holds: while held, nothing is emitted (deltas keep arriving and are kept). A reply
 *   starts held for the sending socket until its gateway has acknowledged and joined the
 *   room; `ai:resume` holds it for the resuming socket while its gateway sends the chunks
 *   it missed and joins. Each socket's hold lapses `holdTimeoutMs` after it began (its
 *   gateway died), on its own: a late release ends nothing, and never another's hold.
 * - Stored first: a chunk's append is sent before its emit, on the same connection, and
 *   the terminal event goes out only after every chunk and the outcome (`persist`) are
 *   confirmed stored, so a client that hears something finds it in the history.
 * - Failures: a refused emit is sent again, with every event after it (a client drops an
 *   index it has); a failed append holds back the chunks from it on until they are
 *   written again, one by one, idempotently.
 */
export class ReplyRelay {
  /** Every numbered chunk; `chunks[i]` has index i. */
  private readonly chunks: string[] = [];
  /** Text not yet numbered. */
  private pending = '';
  /**
   * Output waits while a gateway answers a socket's message or resume: held by that
   * socket's id, each with its own lapse timer, so a late release ends only its own hold.
   */
  private readonly held: LapsingHold<string>;
  /** The room's events in order: `start`, the chunks by index, then the terminal event. */
  private readonly outbox: Outgoing[] = [];
  /** Entries of {@link outbox} before this one have been handed to the emitter. */
  private next = 0;
  /** Emits handed to the emitter and not settled yet. */
  private inFlight = 0;
  /** Chunk emits among {@link inFlight}: the next chunk is cut once there are none. */
  private chunksInFlight = 0;
  /** The first outbox position refused in the emits now settling: sent again from there. */
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
  private terminal: Terminal | undefined;
  /** Set once the terminal event has been handed over and nothing is left to retry. */
  private finished = false;
  /** What {@link Persist} asked to send ahead of the terminal event, until it is sent. */
  private finalWrite: FinalWrite | undefined;
  /** That write and its retries: `done` waits for it. */
  private finalWriting: Promise<unknown> = Promise.resolve();
  /** The chunk writes, settled one after another in index order. */
  private stored: Promise<void> = Promise.resolve();
  /** How many chunks, from index 0, are confirmed stored. */
  private storedCount = 0;
  /** A write failed and the later ones are being retried in order: emits wait for them. */
  private storeTrouble = false;
  /** Chunks written by a retry: the outcome is then stored again once they are (its expiry must see them). */
  private rewrites = 0;
  private quietWaiters: Array<() => void> = [];
  /** Set when an emit or a write was given up on: see {@link handedOff}. */
  private lost = false;
  /** Set when an emit was given up on: nothing more is sent. */
  private abandoned = false;
  private resolveDone!: () => void;
  /** Settles once the terminal event has been emitted (and the write before it stored). */
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  constructor(
    readonly conversationId: string,
    readonly messageId: string,
    readonly user: string,
    private readonly sink: RelaySink,
    holdTimeoutMs: number,
    /** The least time between two chunks (ms); 0 cuts one whenever none is on its way. */
    private readonly chunkIntervalMs = CHUNK_INTERVAL_MS,
  ) {
    this.held = new LapsingHold<string>(holdTimeoutMs, () => this.pump());
  }

  /** Everything the reply has said so far, numbered or not. */
  get text(): string {
    return this.chunks.join('') + this.pending;
  }

  /**
   * False when an emit or a store write of this reply was given up on (Redis did not
   * take it before the drain stopped retrying): its room or its history lacks part of it.
   */
  get handedOff(): boolean {
    return !this.lost;
  }

  /** True once the terminal event has been handed to the emitter (or the relay gave up). */
  get ended(): boolean {
    return this.abandoned || (this.next > 0 && this.outbox[this.next - 1]?.kind === 'terminal');
  }

  /** Queues `ai:stream:start`: call it before the first delta. */
  start(): void {
    this.outbox.push({ kind: 'start' });
    this.pump();
  }

  /**
   * Adds a text delta. The first goes out at once (nothing is faster than the first
   * token); later ones at the end of this turn of the event loop, joined with the
   * deltas that come in it. Ignored once the reply is ending.
   */
  add(delta: string): void {
    if (this.terminal || delta === '') return;
    this.pending += delta;
    if (this.chunks.length === 0) this.pump();
    else this.schedule();
  }

  /** Holds output for `holder` until its {@link release} (or its hold timeout). */
  hold(holder: string): void {
    this.held.hold(holder);
  }

  /**
   * Ends one hold by `holder`; output flows again when no holder has one left. A release
   * whose hold lapsed already (a late one) ends nothing.
   */
  release(holder: string): void {
    if (this.held.release(holder)) this.pump();
  }

  /** Drops every hold at once (shutdown: no gateway will release them). */
  releaseAll(): void {
    this.held.releaseAll();
    this.pump();
  }

  /**
   * For `ai:resume`: holds output for `holder`, waits until no emit is in flight, and
   * returns the chunks emitted so far after `since`. Everything after them reaches the
   * room after the matching {@link release}, so a socket that joins the room in between
   * sees each chunk once. Null (and no hold) when the reply has already ended.
   */
  async holdForResume(since: number, holder: string): Promise<AiChunkRange | null> {
    this.hold(holder);
    await this.quiet();
    if (this.ended) {
      this.release(holder);
      return null;
    }
    const first = Math.max(0, since + 1);
    const sent = this.chunksSent();
    return { first_index: first, chunks: this.chunks.slice(first, sent), last_index: sent - 1 };
  }

  /**
   * Ends the reply: the text so far becomes the last chunk, `persist` stores the
   * outcome (with the whole text) — sent at once, behind the last chunk's append, and
   * confirmed together with every chunk — then `terminal` is emitted. Resolves when it
   * has been emitted. Only the first call counts.
   */
  end(terminal: Terminal, persist: Persist): Promise<void> {
    if (this.terminal) return this.done;
    this.terminal = terminal;
    this.stopPacing();
    if (this.pending !== '') this.number();
    // The last chunk goes now, without waiting for the one on its way.
    this.pump();
    void this.persistEnd(persist, this.chunks.join('')).then((written) => {
      if (!written) this.lost = true;
      // Given up by the drain: the end goes out only once it is stored, so it does not.
      if (!written && this.sink.giveUp()) {
        this.abandon();
        return;
      }
      this.outbox.push({ kind: 'terminal' });
      this.pump();
    });
    return this.done;
  }

  /**
   * Stores the outcome once every chunk is stored; true when it was. Without trouble it
   * is sent at once, on the connection behind the chunks' appends, so it is answered
   * with them; written again after any chunk that needed a retry.
   */
  private async persistEnd(persist: Persist, content: string): Promise<boolean> {
    const rewritesBefore = this.rewrites;
    const early = this.storeTrouble
      ? undefined
      : persist(content).then(
          (final) => ({ final }),
          (error: unknown) => {
            if (!this.sink.giveUp()) this.sink.onStoreError(error);
            return undefined;
          },
        );
    await this.stored;
    const landed = await early;
    if (landed && this.rewrites === rewritesBefore) {
      this.finalWrite = landed.final;
      return true;
    }
    let final: FinalWrite | undefined;
    const written = await persistently(
      async () => {
        final = await persist(content);
      },
      this.sink,
      early !== undefined && landed === undefined,
    );
    this.finalWrite = final;
    return written;
  }

  /**
   * Gives the pending text the next index and stores it. The append is sent now, before
   * the chunk's emit and on the same connection, so Redis stores every chunk before it
   * publishes it: a chunk a client has is in the history. If an append fails (Redis
   * unreachable), it and every later chunk are written again one by one, idempotently,
   * and no chunk is emitted before it is stored.
   */
  private number(): void {
    const chunk = this.pending;
    const index = this.chunks.length;
    this.pending = '';
    this.chunks.push(chunk);
    this.outbox.push({ kind: 'chunk', index });
    const first = this.storeTrouble ? undefined : this.sink.appendChunk(chunk);
    first?.catch(() => undefined); // its outcome is read in order below
    this.stored = this.stored.then(async () => {
      const landed = first
        ? await first.then(
            () => true,
            (error: unknown) => {
              this.storeTrouble = true;
              if (!this.sink.giveUp()) this.sink.onStoreError(error);
              return false;
            },
          )
        : false;
      if (!landed) {
        // The failed append was reported above.
        if (await persistently(() => this.sink.storeChunkAt(index, chunk), this.sink, true)) this.rewrites++;
        else {
          this.lost = true;
          // Given up by the drain: no chunk is emitted before it is stored, so nothing more
          // is. (After a minute of failures while running, the reply goes on without it.)
          if (this.sink.giveUp()) {
            this.abandon();
            return;
          }
        }
      }
      this.storedCount = index + 1;
      if (this.storeTrouble && this.storedCount === this.chunks.length) this.storeTrouble = false;
      // A chunk held back while writes were retried can go now.
      this.pump();
    });
  }

  /** A {@link pump} at the end of this turn of the event loop, so the deltas that came in it go as one chunk. */
  private schedule(): void {
    if (this.pumpSoon || this.abandoned) return;
    this.pumpSoon = setImmediate(() => {
      this.pumpSoon = undefined;
      this.pump();
    });
  }

  /** Cuts the pending text into a chunk when it may, and hands every event that may go now to the emitter. */
  private pump(): void {
    if (this.abandoned || this.held.isHeld || this.retryTimer || this.refusedAt !== undefined) return;
    // One chunk on its way at a time: what comes meanwhile is joined into the next.
    if (this.pending !== '' && this.chunksInFlight === 0 && this.chunksSent() === this.chunks.length && this.paced()) {
      this.lastCut = performance.now();
      this.number();
    }
    while (this.next < this.outbox.length) {
      const position = this.next;
      const entry = this.outbox[position]!;
      // Not before it is stored, while writes are being retried.
      if (entry.kind === 'chunk' && this.storeTrouble && entry.index >= this.storedCount) return;
      this.next++;
      this.send(entry, position);
    }
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

  /** Hands one event to the emitter. */
  private send(entry: Outgoing, position: number): void {
    const ids = { conversation_id: this.conversationId, message_id: this.messageId };
    let sending: Promise<boolean | void>;
    if (entry.kind === 'start') {
      sending = this.sink.emit('ai:stream:start', ids);
    } else if (entry.kind === 'chunk') {
      this.chunksInFlight++;
      sending = this.sink.emit('ai:stream:chunk', { ...ids, chunk: this.chunks[entry.index]!, index: entry.index });
    } else {
      const final = this.finalWrite;
      this.finalWrite = undefined;
      // Sent first, on the same connection: applied before anyone hears the end.
      if (final) this.finalWriting = this.writeFinal(final);
      const { event, payload } = this.terminal!;
      sending =
        event === 'ai:stream:end' ? this.sink.emit('ai:stream:end', payload) : this.sink.emit('ai:error', payload);
    }
    this.inFlight++;
    sending.then(
      (sent) => this.settled(entry, position, sent),
      () => this.settled(entry, position, false),
    );
  }

  /** Sends the write that goes ahead of the terminal event; retried on its own if it fails. */
  private async writeFinal(final: FinalWrite): Promise<void> {
    const landed = await final.now().then(
      () => true,
      (error: unknown) => {
        if (!this.sink.giveUp()) this.sink.onStoreError(error);
        return false;
      },
    );
    if (!landed && !(await persistently(() => final.again(), this.sink, true))) this.lost = true;
  }

  private settled(entry: Outgoing, position: number, sent: boolean | void): void {
    if (this.abandoned) return;
    this.inFlight--;
    if (entry.kind === 'chunk') this.chunksInFlight--;
    if (sent === false) {
      if (this.sink.giveUp()) {
        this.abandon();
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
    else if (this.ended) this.finish();
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
    if (this.ended) this.finish();
    else this.pump();
  }

  /** Everything, the terminal event included, is handed over: done once the write before it is. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    void this.finalWriting.then(() => this.resolveDone());
  }

  private stopPacing(): void {
    if (this.paceTimer) clearTimeout(this.paceTimer);
    this.paceTimer = undefined;
  }

  /** How many chunks, from index 0, have been handed to the emitter. */
  private chunksSent(): number {
    for (let i = this.next - 1; i >= 0; i--) {
      const entry = this.outbox[i]!;
      if (entry.kind === 'chunk') return entry.index + 1;
    }
    return 0;
  }

  /** Ends the relay where it stands, the rest unsent: the drain gave up on Redis. */
  private abandon(): void {
    this.lost = this.abandoned = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.stopPacing();
    this.resolveDone();
    this.wakeQuietWaiters();
  }

  private wakeQuietWaiters(): void {
    const waiters = this.quietWaiters;
    this.quietWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves when no emit is in flight (at once after the relay gave up). */
  private quiet(): Promise<void> {
    if (this.inFlight === 0 || this.abandoned) return Promise.resolve();
    return new Promise((resolve) => this.quietWaiters.push(resolve));
  }
}

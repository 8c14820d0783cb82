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
 * - Relay overhead: a delta goes out at once when nothing is in flight; deltas that
 *   arrive while an emit is in flight are joined into the next chunk. Under a fast
 *   stream a chunk therefore waits at most one emit (one Redis round trip), and nothing
 *   waits before the first.
 * - Holds: while held, nothing is emitted (deltas keep arriving and are kept). A reply
 *   starts held for the sending socket until its gateway has acknowledged and joined the
 *   room; `ai:resume` holds it for the resuming socket while its gateway sends the chunks
 *   it missed and joins. Each socket's hold lapses `holdTimeoutMs` after it began (its
 *   gateway died), on its own: a late release ends nothing, and never another's hold.
 * - The terminal event goes out only after `persist` has stored how the reply ended, so
 *   a client that hears the end and reads the history finds it there.
 */
export class ReplyRelay {
  /** Every numbered chunk; `chunks[i]` has index i. */
  private readonly chunks: string[] = [];
  /** How many of {@link chunks} have been emitted. */
  private sent = 0;
  private pending = '';
  /**
   * Output waits while a gateway answers a socket's message or resume: held by that
   * socket's id, each with its own lapse timer, so a late release ends only its own hold.
   */
  private readonly held: LapsingHold<string>;
  private inFlight = false;
  private startQueued = false;
  private terminal: Terminal | undefined;
  private terminalReady = false;
  private terminalSent = false;
  /** The chunk writes, settled one after another in index order. */
  private stored: Promise<void> = Promise.resolve();
  /** How many chunks, from index 0, are confirmed stored. */
  private storedCount = 0;
  /** A write failed and the later ones are being retried in order: emits wait for them. */
  private storeTrouble = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Failed attempts of the emit being retried. */
  private emitAttempts = 0;
  private quietWaiters: Array<() => void> = [];
  /** Set when an emit or a write was given up on: see {@link handedOff}. */
  private lost = false;
  /** Set when an emit was given up on: nothing more is sent. */
  private abandoned = false;
  private resolveDone!: () => void;
  /** Settles once the terminal event has been emitted. */
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  constructor(
    readonly conversationId: string,
    readonly messageId: string,
    readonly user: string,
    private readonly sink: RelaySink,
    holdTimeoutMs: number,
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
    if (this.terminalSent) {
      this.release(holder);
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
    void this.stored
      .then(() => persistently(() => persist(content), this.sink))
      .then((written) => {
        if (!written) this.lost = true;
        // Given up by the drain: the end goes out only once it is stored, so it does not.
        if (!written && this.sink.giveUp()) this.abandon();
        this.terminalReady = true;
        this.pump();
      });
    return this.done;
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
      // The failed append was reported above.
      if (!landed && !(await persistently(() => this.sink.storeChunkAt(index, chunk), this.sink, true))) {
        this.lost = true;
        // Given up by the drain: no chunk is emitted before it is stored, so nothing more
        // is. (After a minute of failures while running, the reply goes on without it.)
        if (this.sink.giveUp()) {
          this.abandon();
          return;
        }
      }
      this.storedCount = index + 1;
      if (this.storeTrouble && this.storedCount === this.chunks.length) this.storeTrouble = false;
      // A chunk held back while writes were retried can go now.
      this.pump();
    });
  }

  private pump(): void {
    if (this.abandoned) return;
    if (this.held.isHeld || this.inFlight || this.retryTimer) return;
    let sending: Promise<boolean | void>;
    /** Puts the event back, so the next pump sends it again. */
    let undo: () => void;
    if (this.startQueued) {
      this.startQueued = false;
      undo = () => (this.startQueued = true);
      sending = this.sink.emit('ai:stream:start', { conversation_id: this.conversationId, message_id: this.messageId });
    } else if (this.sent < this.chunks.length || this.pending !== '') {
      if (this.sent === this.chunks.length) this.number();
      // Not before it is stored, while writes are being retried.
      if (this.storeTrouble && this.sent >= this.storedCount) return;
      const index = this.sent++;
      undo = () => (this.sent = index);
      sending = this.sink.emit('ai:stream:chunk', {
        conversation_id: this.conversationId,
        message_id: this.messageId,
        chunk: this.chunks[index]!,
        index,
      });
    } else if (this.terminal && this.terminalReady && !this.terminalSent) {
      this.terminalSent = true;
      const { event, payload } = this.terminal;
      undo = () => (this.terminalSent = false);
      sending =
        event === 'ai:stream:end' ? this.sink.emit('ai:stream:end', payload) : this.sink.emit('ai:error', payload);
    } else {
      return;
    }
    this.inFlight = true;
    const settled = (sent: boolean | void): void => {
      this.inFlight = false;
      if (sent === false && this.sink.giveUp()) {
        this.abandon();
        return;
      }
      if (sent === false && ++this.emitAttempts < MAX_ATTEMPTS) {
        undo();
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.pump();
        }, RETRY_MS);
        this.wakeQuietWaiters();
        return;
      }
      this.emitAttempts = 0;
      if (this.terminalSent) this.resolveDone();
      this.wakeQuietWaiters();
      this.pump();
    };
    sending.then(settled, () => settled(false));
  }

  /** Ends the relay where it stands, the rest unsent: the drain gave up on Redis. */
  private abandon(): void {
    this.lost = this.abandoned = true;
    this.terminalSent = true;
    this.resolveDone();
    this.wakeQuietWaiters();
  }

  private wakeQuietWaiters(): void {
    const waiters = this.quietWaiters;
    this.quietWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves when no emit is in flight. */
  private quiet(): Promise<void> {
    if (!this.inFlight) return Promise.resolve();
    return new Promise((resolve) => this.quietWaiters.push(resolve));
  }
}

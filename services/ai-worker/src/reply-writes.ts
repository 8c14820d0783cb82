import { MAX_ATTEMPTS, RETRY_MS } from './relay-retry';

/**
 * A write that must reach the store before the terminal event reaches anyone (freeing
 * the conversation's reply slot). `ReplyRelay` sends it just ahead of the event:
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

/** Where a reply is stored as it streams: the store's side of a `RelaySink`. */
export interface ReplyStoreSink {
  /** Appends the next chunk to the stored reply; its position in the store is its index. */
  appendChunk(chunk: string): Promise<void>;
  /** Stores chunk `index` unless the store has it already: the retry of an append that failed. */
  storeChunkAt(index: number, chunk: string): Promise<void>;
  /** A store write failed; it is tried again (the log says so once per reply). */
  onStoreError(error: unknown): void;
  /**
   * True once retrying is pointless (the worker's drain is stopping its replies): a
   * failed emit or write is then given up at once, and the relay ends without it (see
   * `ReplyRelay.handedOff`).
   */
  giveUp(): boolean;
}

/** What {@link ReplyWrites} tells the relay it belongs to. */
export interface ReplyWritesHooks {
  /** A chunk is confirmed stored: one held back while writes were retried may go now. */
  stored(): void;
  /** A chunk's write was given up by the drain: the relay ends where it stands. */
  abandon(): void;
}

/**
 * Runs `write` until it succeeds, `RETRY_MS` apart, at most `MAX_ATTEMPTS` times, or
 * until a failure finds `sink.giveUp()` true. Resolves true when it was written.
 */
async function persistently(
  write: () => Promise<void>,
  sink: Pick<ReplyStoreSink, 'onStoreError' | 'giveUp'>,
  reported = false,
): Promise<boolean> {
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
 * The store writes of one reply, stored first: each chunk's append, sent as it is
 * numbered and ahead of its emit on the same connection; then the outcome (`persist`),
 * confirmed together with every chunk; then the {@link FinalWrite}, sent just ahead of
 * the terminal event. A client that hears something finds it in the history.
 *
 * Failures: a failed append holds back the chunks from it on ({@link mayEmit}) until they
 * are written again, one by one, idempotently; the outcome is then written again too.
 */
export class ReplyWrites {
  /** The chunk writes, settled one after another in index order. */
  private stored: Promise<void> = Promise.resolve();
  /** How many chunks, from index 0, have been handed to {@link append}. */
  private numbered = 0;
  /** How many chunks, from index 0, are confirmed stored. */
  private storedCount = 0;
  /** A write failed and the later ones are being retried in order: emits wait for them. */
  private storeTrouble = false;
  /** Chunks written by a retry: the outcome is then stored again once they are (its expiry must see them). */
  private rewrites = 0;
  /** What {@link Persist} asked to send ahead of the terminal event, until it is sent. */
  private finalWrite: FinalWrite | undefined;
  /** That write and its retries. */
  private finalWriting: Promise<unknown> = Promise.resolve();
  private failed = false;

  constructor(
    private readonly sink: ReplyStoreSink,
    private readonly hooks: ReplyWritesHooks,
  ) {}

  /** True when a write of this reply was given up on: its history lacks part of it. */
  get lost(): boolean {
    return this.failed;
  }

  /** Settles once the {@link FinalWrite} sent by {@link sendFinal} (if any) has landed or been given up. */
  get finalWritten(): Promise<unknown> {
    return this.finalWriting;
  }

  /**
   * Stores chunk `index` (the chunks come in index order). The append is sent now, before
   * the chunk's emit and on the same connection, so Redis stores every chunk before it
   * publishes it. If an append fails (Redis unreachable), it and every later chunk are
   * written again one by one, idempotently, and {@link mayEmit} holds them back till then.
   */
  append(index: number, chunk: string): void {
    this.numbered = index + 1;
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
          this.failed = true;
          // Given up by the drain: no chunk is emitted before it is stored, so nothing more
          // is. (After a minute of failures while running, the reply goes on without it.)
          if (this.sink.giveUp()) {
            this.hooks.abandon();
            return;
          }
        }
      }
      this.storedCount = index + 1;
      if (this.storeTrouble && this.storedCount === this.numbered) this.storeTrouble = false;
      this.hooks.stored();
    });
  }

  /** Whether chunk `index` may be emitted now: not before it is stored, while writes are being retried. */
  mayEmit(index: number): boolean {
    return !(this.storeTrouble && index >= this.storedCount);
  }

  /**
   * Stores the outcome once every chunk is stored; true when it was. Without trouble it
   * is sent at once, on the connection behind the chunks' appends, so it is answered
   * with them; written again after any chunk that needed a retry.
   */
  async persistEnd(persist: Persist, content: string): Promise<boolean> {
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
    if (!written) this.failed = true;
    return written;
  }

  /**
   * Sends the write {@link persistEnd} was given for the terminal event, if any: call it
   * right before the event's emit, so it is applied before anyone hears the end. Retried
   * on its own if it fails; {@link finalWritten} waits for it.
   */
  sendFinal(): void {
    const final = this.finalWrite;
    this.finalWrite = undefined;
    if (final) this.finalWriting = this.writeFinal(final);
  }

  private async writeFinal(final: FinalWrite): Promise<void> {
    const landed = await final.now().then(
      () => true,
      (error: unknown) => {
        if (!this.sink.giveUp()) this.sink.onStoreError(error);
        return false;
      },
    );
    if (!landed && !(await persistently(() => final.again(), this.sink, true))) this.failed = true;
  }
}

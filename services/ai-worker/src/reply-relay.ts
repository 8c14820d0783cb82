import type { AiChunkRange, AiErrorEvent, AiStreamEndEvent } from '@ctos/protocol';
import { LapsingHold } from '@ctos/runtime';
import type { ServerPayload } from '@ctos/transport';
import { CHUNK_INTERVAL_MS, ReplyOutbox, type Outgoing } from './reply-outbox';
import { ReplyWrites, type Persist, type ReplyStoreSink } from './reply-writes';

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

/** Where a relay's output goes: the room, and the store (see {@link ReplyStoreSink}). */
export interface RelaySink extends ReplyStoreSink {
  /**
   * Emits into the conversation's room; settles when handed to the transport, never
   * rejects. `false`: the transport could not take it (Redis unreachable); it is sent again.
   */
  emit<E extends ReplyEvent>(event: E, payload: ServerPayload<E>): Promise<boolean | void>;
}

/**
 * Puts one reply on the wire, in order: `start`, chunks numbered from 0, then its
 * terminal event. Each chunk is stored as it is numbered, so any gateway can replay it.
 * This class keeps the reply's lifecycle (holds, resume, the end) and joins two parts:
 *
 * - Relay overhead ({@link ReplyOutbox}): the first delta goes out at once, later ones
 *   are paced into chunks, and emits do not wait for each other; a refused emit is sent
 *   again, with every event after it (a client drops an index it has).
 * - Stored first ({@link ReplyWrites}): a chunk's append is sent before its emit, on the
 *   same connection, and the terminal event goes out only after every chunk and the
 *   outcome (`persist`) are confirmed stored, so a client that hears something finds it
 *   in the history. A failed append holds back the chunks from it on until they are
 *   written again, one by one, idempotently.
 * - Holds (here): while held, nothing is emitted (deltas keep arriving and are kept). A reply
 *   starts held for the sending socket until its gateway has acknowledged and joined the
 *   room; `ai:resume` holds it for the resuming socket while its gateway sends the chunks
 *   it missed and joins. Each socket's hold lapses `holdTimeoutMs` after it began (its
 *   gateway died), on its own: a late release ends nothing, and never another's hold.
 */
export class ReplyRelay {
  /**
   * Output waits while a gateway answers a socket's message or resume: held by that
   * socket's id, each with its own lapse timer, so a late release ends only its own hold.
   */
  private readonly held: LapsingHold<string>;
  private readonly outbox: ReplyOutbox;
  private readonly writes: ReplyWrites;
  private terminal: Terminal | undefined;
  /** Set once the terminal event has been handed over and nothing is left to retry. */
  private finished = false;
  /** Set when the relay gave up on Redis (see {@link abandon}). */
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
    chunkIntervalMs = CHUNK_INTERVAL_MS,
  ) {
    this.held = new LapsingHold<string>(holdTimeoutMs, () => this.outbox.pump());
    this.writes = new ReplyWrites(sink, {
      // A chunk held back while writes were retried can go now.
      stored: () => this.outbox.pump(),
      abandon: () => this.abandon(),
    });
    this.outbox = new ReplyOutbox(
      {
        held: () => this.held.isHeld,
        numbered: (index, chunk) => this.writes.append(index, chunk),
        mayEmit: (index) => this.writes.mayEmit(index),
        send: (entry) => this.send(entry),
        giveUp: () => sink.giveUp(),
        abandon: () => this.abandon(),
        finished: () => this.finish(),
      },
      chunkIntervalMs,
    );
  }

  /** Everything the reply has said so far, numbered or not. */
  get text(): string {
    return this.outbox.text;
  }

  /**
   * False when an emit or a store write of this reply was given up on (Redis did not
   * take it before the drain stopped retrying): its room or its history lacks part of it.
   */
  get handedOff(): boolean {
    return !this.abandoned && !this.writes.lost;
  }

  /** True once the terminal event has been handed to the emitter (or the relay gave up). */
  get ended(): boolean {
    return this.outbox.ended;
  }

  /** Queues `ai:stream:start`: call it before the first delta. */
  start(): void {
    this.outbox.enqueue({ kind: 'start' });
  }

  /**
   * Adds a text delta. The first goes out at once (nothing is faster than the first
   * token); later ones at the end of this turn of the event loop, joined with the
   * deltas that come in it. Ignored once the reply is ending.
   */
  add(delta: string): void {
    if (this.terminal || delta === '') return;
    this.outbox.add(delta);
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
    if (this.held.release(holder)) this.outbox.pump();
  }

  /** Drops every hold at once (shutdown: no gateway will release them). */
  releaseAll(): void {
    this.held.releaseAll();
    this.outbox.pump();
  }

  /**
   * For `ai:resume`: holds output for `holder`, waits until no emit is in flight, and
   * returns the chunks emitted so far after `since`. Everything after them reaches the
   * room after the matching {@link release}, so a socket that joins the room in between
   * sees each chunk once. Null (and no hold) when the reply has already ended.
   */
  async holdForResume(since: number, holder: string): Promise<AiChunkRange | null> {
    this.hold(holder);
    await this.outbox.quiet();
    if (this.ended) {
      this.release(holder);
      return null;
    }
    const first = Math.max(0, since + 1);
    const sent = this.outbox.chunksSent();
    return { first_index: first, chunks: this.outbox.chunks.slice(first, sent), last_index: sent - 1 };
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
    // The last chunk goes now, without waiting for the one on its way.
    this.outbox.flush();
    void this.writes.persistEnd(persist, this.outbox.chunks.join('')).then((written) => {
      // Given up by the drain: the end goes out only once it is stored, so it does not.
      if (!written && this.sink.giveUp()) {
        this.abandon();
        return;
      }
      this.outbox.enqueue({ kind: 'terminal' });
    });
    return this.done;
  }

  /** Emits one event of the outbox into the room. */
  private send(entry: Outgoing): Promise<boolean | void> {
    const ids = { conversation_id: this.conversationId, message_id: this.messageId };
    if (entry.kind === 'start') return this.sink.emit('ai:stream:start', ids);
    if (entry.kind === 'chunk') {
      return this.sink.emit('ai:stream:chunk', { ...ids, chunk: this.outbox.chunks[entry.index]!, index: entry.index });
    }
    // Sent first, on the same connection: applied before anyone hears the end.
    this.writes.sendFinal();
    const { event, payload } = this.terminal!;
    return event === 'ai:stream:end' ? this.sink.emit('ai:stream:end', payload) : this.sink.emit('ai:error', payload);
  }

  /** Everything, the terminal event included, is handed over: done once the write before it is. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    void this.writes.finalWritten.then(() => this.resolveDone());
  }

  /** Ends the relay where it stands, the rest unsent: the drain gave up on Redis. */
  private abandon(): void {
    this.abandoned = true;
    this.resolveDone();
    this.outbox.stop();
  }
}

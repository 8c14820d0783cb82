import type { TerminalOutputEvent } from '@ctos/protocol';
import { LapsingHold } from '@ctos/runtime';

/**
 * Output bytes sent in one coalescing window before batching starts: keystroke echoes
 * stay far below it and go out at once; a flood passes it within a window.
 */
const FLOOD_BYTES_PER_WINDOW = 16 * 1024;
/**
 * A chunk this large is sent without waiting for the window to end: per-event overhead is
 * already small against it, and waiting would only add latency to every flow-control
 * round (the benchmark saw throughput capped at one ~50 KB chunk per window).
 */
const EFFICIENT_CHUNK_CHARS = 32 * 1024;
/** A create/attach hold that is never released (its gateway died) lapses after this (ms). */
const HOLD_TIMEOUT_MS = 10_000;
/**
 * After an output chunk could not be handed to the transport, how long until it is sent
 * again (ms). Meanwhile new output waits (and pauses the PTY once it piles up), so the
 * live stream stays whole and in order.
 */
const EMIT_RETRY_MS = 250;

/** What the pump needs from its session. */
export interface PumpHost {
  /**
   * Hands one chunk to the transport; settles when handed over, never rejects. `false`:
   * it could not be (Redis unreachable), and is sent again.
   */
  emit(event: TerminalOutputEvent): Promise<boolean | void>;
  /** Keeps a chunk as it is cut (replay buffer, title); returns the output position after it. */
  record(data: string, bytes: number): number;
  /** Where output stands changed: flow control looks again. */
  changed(): void;
  /** Everything read has been sent and the shell has exited: the session may end. */
  drained(): void;
  /** `socket`'s hold was never released within its time: it attached and went away. */
  holdLapsed(socket: string): void;
}

/**
 * A session's output from the PTY to the transport, in order: a read goes out at once
 * when nothing is in flight and output is light (a keystroke echo); reads that arrive
 * while a send is in flight, or past the flood threshold, are coalesced into one chunk.
 * Output is held while a create or attach is being answered, and a chunk the transport
 * refuses is sent again, whole and with its own `seq`, before anything newer.
 */
export class OutputPump {
  private pending: string[] = [];
  private pendingCharacters = 0;
  /** UTF-8 bytes of {@link pending}: what flow control counts. */
  private pendingUtf8Bytes = 0;
  /** Output waits while a create or attach is being answered, held by the attaching socket. */
  private readonly held: LapsingHold<string>;
  private inFlight = false;
  private windowStart = 0;
  private windowBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  /** The chunk the transport refused, sent again when {@link retryTimer} fires. */
  private unsent: TerminalOutputEvent | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private exited = false;
  private disposed = false;

  constructor(
    private readonly sessionId: string,
    /** Coalescing window under a flood (ms). */
    private readonly coalesceMs: number,
    private readonly host: PumpHost,
  ) {
    this.held = new LapsingHold<string>(HOLD_TIMEOUT_MS, (socket) => {
      this.host.holdLapsed(socket);
      this.schedule();
    });
  }

  /** Bytes (UTF-8) read from the PTY and not handed to the transport yet. */
  get pendingBytes(): number {
    return this.pendingUtf8Bytes;
  }

  push(data: string): void {
    this.pending.push(data);
    this.pendingCharacters += data.length;
    this.pendingUtf8Bytes += Buffer.byteLength(data, 'utf8');
    this.schedule();
  }

  /** The shell has exited: what is pending goes out without waiting, then {@link PumpHost.drained}. */
  markExited(): void {
    this.exited = true;
    this.schedule();
  }

  /** Holds output for `socket` until its {@link release}; lapses after {@link HOLD_TIMEOUT_MS}. */
  hold(socket: string): void {
    this.held.hold(socket);
  }

  /** Ends one hold of `socket` (none when it lapsed); output flows again when none is left. */
  release(socket: string): void {
    if (this.held.release(socket)) this.schedule();
  }

  dispose(): void {
    this.disposed = true;
    this.held.dispose();
    for (const timer of [this.flushTimer, this.retryTimer]) clearTimeout(timer);
  }

  /** Sends pending output now, later, or not yet. */
  private schedule(): void {
    if (this.flushTimer && this.pendingCharacters >= EFFICIENT_CHUNK_CHARS) {
      // A full chunk never waits for the window's timer: under a flood the timer would
      // cap the rate at one window's worth per window.
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.disposed || this.held.isHeld || this.inFlight || this.flushTimer || this.retryTimer) {
      this.host.changed();
      return;
    }
    if (this.unsent) {
      this.send(this.unsent);
      return;
    }
    if (this.pendingCharacters === 0) {
      if (this.exited) this.host.drained();
      return;
    }
    const now = performance.now();
    if (now - this.windowStart >= this.coalesceMs) {
      this.windowStart = now;
      this.windowBytes = 0;
    }
    if (this.windowBytes < FLOOD_BYTES_PER_WINDOW || this.pendingCharacters >= EFFICIENT_CHUNK_CHARS || this.exited) {
      this.flush();
    } else {
      this.flushTimer = setTimeout(
        () => {
          this.flushTimer = undefined;
          this.schedule();
        },
        this.windowStart + this.coalesceMs - now,
      );
    }
    this.host.changed();
  }

  private flush(): void {
    const data = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.pendingCharacters = 0;
    const bytes = this.pendingUtf8Bytes;
    this.pendingUtf8Bytes = 0;
    this.windowBytes += bytes;
    const seq = this.host.record(data, bytes);
    this.send({ session_id: this.sessionId, data, seq });
  }

  /**
   * Emits one chunk. A chunk the transport refuses is sent again, whole and with its own
   * `seq`, before anything newer: a client drops chunks whose `seq` it has (from a
   * replay) and appends the others, which is exact only at chunk boundaries.
   */
  private send(event: TerminalOutputEvent): void {
    this.inFlight = true;
    const settled = (sent: boolean | void): void => {
      this.inFlight = false;
      if (sent === false && !this.disposed) {
        this.unsent = event;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.schedule();
        }, EMIT_RETRY_MS);
        this.host.changed();
        return;
      }
      this.unsent = undefined;
      this.schedule();
    };
    this.host.emit(event).then(settled, () => settled(false));
  }
}

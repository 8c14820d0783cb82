import type { TerminalOutputEvent } from '@ctos/protocol';
import { LapsingHold } from '@ctos/runtime';

/**
 * The most one read of a Linux PTY yields (its line discipline's 4 KiB buffer, less one):
 * a read this full means more output was already waiting in the kernel, so the next read
 * follows at once and the chunk can grow without delaying anything. A shorter read means
 * the PTY went quiet: what is pending goes out now.
 */
const FULL_READ_BYTES = 4095;
/** UTF-8 bytes node-pty's streaming decoder may keep back from a read (an incomplete character). */
const DECODER_CARRY_BYTES = 3;
/**
 * After a full read, output waits for the next read at most this long (ms): only output
 * that ends exactly on a full read ever waits for it. Under a flood the next read comes
 * within microseconds (each one starts the wait again) and chunks leave by size, so it
 * never sets the rate.
 */
const QUIET_AFTER_FULL_READ_MS = 2;
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
 * A session's output from the PTY to the transport, in order, paced by the PTY and the
 * delivery path and never by a clock: a short read (the PTY went quiet: an echo, a prompt)
 * goes out at once; full reads (a flood) are batched up to `chunkBytes`; reads that arrive
 * while a chunk is being handed to the transport go out together when it is. Output is
 * held while a create or attach is being answered, and a chunk the transport refuses is
 * sent again, whole and with its own `seq`, before anything newer. Decision 0015.
 */
export class OutputPump {
  private pending: string[] = [];
  private pendingCharacters = 0;
  /** UTF-8 bytes of {@link pending}: what flow control counts. */
  private pendingUtf8Bytes = 0;
  /** Output waits while a create or attach is being answered, held by the attaching socket. */
  private readonly held: LapsingHold<string>;
  private inFlight = false;
  /** The last read was full: more output is on its way (see {@link FULL_READ_BYTES}). */
  private moreComing = false;
  private quietTimer: NodeJS.Timeout | undefined;
  /** The chunk the transport refused, sent again when {@link retryTimer} fires. */
  private unsent: TerminalOutputEvent | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private exited = false;
  private disposed = false;

  constructor(
    private readonly sessionId: string,
    /** Under a flood, output is sent in chunks of about this many bytes (UTF-8). */
    private readonly chunkBytes: number,
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

  /** One read from the PTY, as node-pty decoded it. */
  push(data: string): void {
    const bytes = Buffer.byteLength(data, 'utf8');
    this.pending.push(data);
    this.pendingCharacters += data.length;
    this.pendingUtf8Bytes += bytes;
    this.moreComing = bytes >= FULL_READ_BYTES - DECODER_CARRY_BYTES;
    this.quietTimer?.refresh(); // it measures quiet since the last read
    this.schedule();
  }

  /** Flow control paused reading from the PTY: no read is coming, so what is pending goes out. */
  readingPaused(): void {
    this.moreComing = false;
    // Called from within flow control's update, itself called from schedule: run after it.
    queueMicrotask(() => this.schedule());
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
    for (const timer of [this.quietTimer, this.retryTimer]) clearTimeout(timer);
  }

  /** Sends pending output now, or once the hold, the send in flight or the next read allows. */
  private schedule(): void {
    if (this.disposed || this.held.isHeld || this.inFlight || this.retryTimer) {
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
    if (!this.moreComing || this.exited || this.pendingUtf8Bytes >= this.chunkBytes) {
      this.flush();
    } else {
      this.quietTimer ??= setTimeout(() => {
        this.quietTimer = undefined;
        this.moreComing = false;
        this.schedule();
      }, QUIET_AFTER_FULL_READ_MS);
    }
    this.host.changed();
  }

  private flush(): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
    const data = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.pendingCharacters = 0;
    const bytes = this.pendingUtf8Bytes;
    this.pendingUtf8Bytes = 0;
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
